"""Helpers of benchmarks/engine_overhead.py: the anchor scripts and the no-op callable.

prefect_bench.py and dagster_bench.py run in their own venv (benchmarks/.venvs/anchors), not in
the project's: they import only the standard library and `_common` beside them.
"""
