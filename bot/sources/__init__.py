"""Sources: where Vigil's own samples come from (Prometheus, HTTP checks, host, GPU).

Each source is one file, async, bounded by a timeout, and says "unavailable" with a reason
instead of crashing the poll loop; ``base.py`` holds the shared contract.
"""
