"""Benchmarks that anyone can rerun (not timed tests): see docs/performance.md."""
