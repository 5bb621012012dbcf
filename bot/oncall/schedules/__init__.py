"""Who is on call: schedules, rotations, imported overrides and handoffs.

Pure: ``layers.py`` (layered rotations, restrictions and overrides, final shifts in local
wall-clock time), ``roster.py`` (a ``rotations:`` entry: a schedule of one layer),
``ical.py`` (iCalendar export and override import), ``override_plan.py`` (what an import
adds, updates and removes) and ``handoff.py`` (the next change of hands and its notice);
``config.py`` reads the ``schedules:`` and ``rotations:`` sections (pydantic models; the
value checks they share are ``checks.py``). I/O: ``overrides.py`` (``ScheduleBook``: the
configured schedules merged with the overrides of ``tables.py`` on every read) and
``watch.py`` (one durable timer per schedule that posts each handoff). A room of its own
because paging only asks it "who is on call at this instant" and never needs to know how
the answer is made.
"""
