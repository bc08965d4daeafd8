"""Benchmarks (`make bench-…`): goals from the issues, measured here, never timed in tests."""
