"""`monitor evaluate` (accuracy on real faces) and the benchmarks."""
