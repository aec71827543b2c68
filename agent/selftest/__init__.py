"""The Art. 14 self-test suite: every applicable check, run now, as one report (see docs/selftest.md)."""
