"""Who gets paged, when, and how a page escalates until someone acknowledges it.

Pure: ``escalation.py`` (policies: levels, waits, repeats; which pages are due at a time),
``routing.py`` (which policy pages an incident, and whether now, at the next working-hours
start or never) and ``plans.py`` (the plan one incident's paging follows, kept in its timer
and on its timeline); ``config.py`` reads ``groups``, ``escalation_policies``,
``escalation``, ``routes``, ``severity_paging`` and ``working_hours``, and
``policy_config.py`` one escalation policy (pydantic models). I/O: ``pager.py``
(the ``Pager``: pages through the chat backends and ``notify:`` channels, escalates by
durable timer), ``pages.py`` (``PageBook``: the ``pages`` table whose unique row makes each
step paged once) and ``mirror.py`` (an ack or resolve here does the same in PagerDuty).
Kept apart from the schedules: a target such as ``schedule:NAME`` is resolved at page time,
so the paging rules never change when a schedule does.
"""
