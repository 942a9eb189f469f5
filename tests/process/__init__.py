"""Process tests: what needs more than this process and a fake clock: child processes, the real
clock, sockets that answer slowly or never, wheels built and installed, cassettes recorded again.
All are `slow` (tests/process/conftest.py): `pytest -m "not slow"` leaves them out."""
