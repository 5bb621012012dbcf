"""The running process: the composition root (``app``), the split serve, durable timers,
cross-process wake-ups, Vigil's own metrics, ``vigil check`` and ``vigil demo``."""
