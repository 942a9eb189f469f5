"""Unit tests: one module or function, in this process, on a fake clock or none; each fast."""
