"""Snoozes: hold an incident's pages for a while, or until a metric shows what we wait for.

Pure: ``rules.py`` (parsing ``/incident snooze``, the 24 h cap, what "held for 30m" means,
and the wording), ``progress.py`` (the little the watcher keeps per series between polls)
and ``metrics.py`` (which known metric a condition names, or a refusal). I/O:
``service.py`` (``SnoozeService``: one snooze per incident in ``tables.py``, its durable
end timer, condition progress fed by the rule runner, and the re-page when it ends). A room
of its own because a snooze only asks the Pager to hold and to page again; the Pager
knows nothing of conditions.
"""
