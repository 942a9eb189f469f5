"""Process tests: what needs more than this process and a fake clock, and the long sweeps. All are
`slow` (tests/process/conftest.py): `pytest -m "not slow"`, the fast loop, leaves them out.

- child processes: fusion-run, fusion-emulator, check-jsonschema, a fresh interpreter, pip;
- the real clock: signals, timeouts, a live line's redraws, sockets that answer slowly or never;
- wheels built and installed, and cassettes recorded again;
- the long sweeps, each seconds of work over hundreds or thousands of cases: the simulation's
  seeds and the crash explorer's points, shared among pools of worker processes, and the
  property tests at full breadth (hundreds of generated documents or expressions each).
"""
