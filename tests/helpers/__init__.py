"""What the test modules share: fakes, paths, the CLI runner, report checks, engine runs on the
emulator's model, the crash-point explorer, documents for property tests, the README's commands, a
plan whose variables CI sets, and reading a child process's output with a deadline."""
