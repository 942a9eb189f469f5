"""Scenario tests: whole plans, run in this process on a fake clock, against the emulator (its
model, or its server on the loopback), fakes, or the simulated Fusion of `tests.simulation`."""
