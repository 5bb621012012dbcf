"""The running process: the composition root (``app``), the split serve (``supervise``),
``vigil check`` and ``vigil demo``."""
