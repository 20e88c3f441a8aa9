"""Benchmarks. Run ``python -m bench`` (or ``python3 dev.py nox -s bench``).

Every figure is reported as a ratio against a baseline measured in the same run, because these
machines are shared and noisy: absolute times vary from run to run, the ratios much less.
"""
