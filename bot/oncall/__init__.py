"""On call: who is on call, who gets paged and when, how long a page may be held, and how
well the promises were kept. Four rooms, one vocabulary.

- ``schedules/`` — who is on call: layered schedules and simple rotations, calendar
  overrides, handoffs and their notices.
- ``paging/`` — who gets paged and when: escalation policies, routing by severity and
  labels, the Pager that sends pages and escalates, the PagerDuty mirror.
- ``snooze/`` — holding an incident's pages for a while or until a metric recovers.
- ``sla/`` — SLA clocks and their reminders, and the on-call report that counts them.

In every room the same file name does the same job: ``config.py`` parses the room's part
of ``vigil.yaml``, ``tables.py`` declares its SQL tables, ``service.py`` / ``watch.py``
(and the Pager, ``paging/pager.py``) do its I/O: database, chat, durable timers
(``bot/store/timers.py``). Every other module is a pure noun: no database, chat or clock, with
``now`` passed in, so the rules are tested by hand-computed cases (and
``tests/unit/test_layering.py`` keeps them pure).

Shared by the rooms and kept here: ``calendar.py`` (working hours and business days, read by
routing and the SLA clocks alike), ``settings.py`` (everything on call that ``vigil.yaml``
configures, in one value), ``status.py`` (the ``/incident oncall`` answer) and
``watch.py`` (the durable-watcher skeleton the handoff, SLA and snooze timers share). The
composition root (``bot/runtime/app.py``) wires the services with the clock and the chat backends.
"""
