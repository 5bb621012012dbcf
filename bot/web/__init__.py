"""The HTTP front door: :mod:`bot.web.app` (alerts, the incident API, and ``Routes``, which
installs the rest), :mod:`bot.web.models` (model quality), :mod:`bot.web.pagerduty` (the
PagerDuty webhook), :mod:`bot.web.health` (health, metrics), :mod:`bot.web.schedules` (every
schedule route), :mod:`bot.web.body` and :mod:`bot.web.replies` (what they share). Built by
the composition root, :mod:`bot.runtime.app`."""
