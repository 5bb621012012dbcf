"""PagerDuty both ways: the Events API v2 channel (``events``) and its v3 webhook back
(``webhook``)."""
