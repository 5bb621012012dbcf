"""Model quality, as pure numpy/scipy: drift statistics, data quality, label-free estimates.

Nothing here does I/O (a layering test enforces it), so every statistic is tested directly
on hand-computable data and reused by the streaming windows, the service and the benchmark.
"""
