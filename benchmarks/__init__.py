"""Benchmarks: one module per speed goal; each prints ratios against an in-process baseline."""
