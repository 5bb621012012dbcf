"""``/silence`` and ``/incident silence N``: ``parse`` (pure) and ``run`` (on the silence
service, with the replies' wording)."""
