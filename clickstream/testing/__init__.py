"""Helpers for the test suite that are also useful outside pytest (benchmarks, the demo)."""
