"""What the test modules share: fakes, paths, the CLI runner, report checks, engine runs on the
emulator's model, and reading a child process's output with a deadline."""
