"""Profiles and sketches computed by an engine (DuckDB, Apache Spark, or in process) from a
CSV/Parquet file: the reference profile of ``vigil model reference`` and the one-sketch
batch judgement of ``vigil model profile``, identical whichever engine ran them."""
