"""Foundations every room may use: time and durations, errors, secrets, YAML files,
pagination, Vigil's own Prometheus metrics. All pure but ``metrics`` (a registry)."""
