"""A reference dataset file (CSV or Parquet) read into a ``ReferenceProfile``: the readers,
the column roles, the profile with what was understood, and feature importances."""
