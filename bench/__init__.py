"""Benchmarks: the cell's traffic path measured side by side with its baselines.

``python -m bench`` (``make bench``) runs every scenario against one broker, both arms in the
same run with the same producer settings, and writes ``bench/results/latest.json`` and
``BENCHMARKS.md``. Benchmarks report; they never gate CI.
"""
