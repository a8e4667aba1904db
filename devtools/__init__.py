"""Helpers that start the real servers and stand-ins on this machine, shared by tests and benchmarks."""
