"""SLA clocks, their reminders and breaches, and the on-call report that counts them.

Pure: ``clocks.py`` (when an incident must be acknowledged and resolved, the reminders
before and after, and their words), ``report.py`` (MTTA, MTTR, SLA compliance, pages per
person, noise, counted from plain records) and ``report_text.py`` (the period people type
and the tables they read); ``config.py`` reads the ``sla:`` section. I/O: ``watch.py``
(``SlaWatch``: one durable timer per incident, the timeline as the record of what was said)
and ``report_service.py`` (the bounded database reads behind ``vigil report`` and
``/incident report``). The report lives here because its compliance figures are these
clocks, applied to a period.
"""
