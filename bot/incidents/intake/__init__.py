"""The parts of alert intake below ``bot.incidents.intake.ingest``'s group commit: one post's
transaction (``apply.py``), the alert rows it inserts (``rows.py``), the timeline lines it
writes (``lines.py``) and the re-classification of what it touched (``reclassify.py``)."""
