"""The HTTP front door: :mod:`bot.web.app` (alerts, the incident API, health, metrics),
:mod:`bot.web.schedules` (every schedule route) and :mod:`bot.web.replies` (the answers they
share). Built by the composition root, :mod:`bot.app`."""
