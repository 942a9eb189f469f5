"""What the test modules share: fakes, paths, the CLI runner, report checks, engine runs on the
emulator's model, the crash-point explorer, documents for property tests, plans whose earlier
reports a resume reads, a plan whose variables CI sets, and reading a child process's output
with a deadline."""
