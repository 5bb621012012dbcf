"""Incidents: fingerprints, grouping, classification (pure) and the service that stores them."""
