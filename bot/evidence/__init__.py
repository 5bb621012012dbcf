"""Evidence for model-quality incidents: charts drawn from the monitor, attached to the incident.

``charts`` renders PNG bytes (pure); ``service`` decides when an incident gets them, writes
the files and records them on the timeline, from where the console, Slack and the
post-mortem draft pick them up.
"""
