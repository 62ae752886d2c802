"""Benchmarks: few-shot accuracy and speed, each a `python -m engine.bench.<name>` script."""
