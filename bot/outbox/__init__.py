"""The persistent outbox: outbound chat messages written with the change they report, sent
by a worker in order per incident, retried on temporary failures (nothing lost, nothing
twice). ``tables`` (the row), ``feed`` (timeline → outbox, same transaction), ``retry``
(pure failure policy), ``worker`` (claim, deliver, mark). Nothing is re-exported here: the
pure ``retry`` must not load the worker's database code with its package."""
