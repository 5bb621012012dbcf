"""The orchestrators a retraining run is sent to, one module per real API."""
