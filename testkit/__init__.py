"""Synthetic uploads for the tests and the benchmarks: realistic photos, scans and drawings made
from MNIST test digits, so neither imports the other."""
