"""Foundations every room may use: time and durations, errors, secrets, YAML files,
pagination. Pure."""
