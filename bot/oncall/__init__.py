"""On call: who is on call (``roster``) and who gets paged when (``escalation``).

Both modules are pure: no database, chat or clock. Paging through the chat backend, the
timers that drive escalation (``bot/scheduler.py``) and ``/incident oncall`` are wired in
the composition root, which calls these functions with the time it got from its clock.
"""
