"""Silences, maintenance windows and inhibition: what keeps an alert from paging (issue 18).

Pure: ``matchers.py`` (Alertmanager's label matchers exactly, their text and API v2 JSON
forms, and ``refusal``, Vigil's guard against a silence that would hush everything),
``re2.py`` (Alertmanager's RE2 regexes read the same way by Python), ``inhibit.py``
(inhibition rules: which firing alert mutes another, strict about ``equal`` labels),
``windows.py`` (when a maintenance window is on), ``spec.py`` (a silence's checks, states,
JSON and words), ``mutes.py`` (every reason an alert is muted now), ``config.py`` and
``window_config.py`` (the ``inhibit_rules:`` and ``maintenance:`` sections). With I/O:
``tables.py``, ``service.py`` (the silences, and the intake's muter) and ``watch.py`` (the
timers that end mutes and release what they held). Re-exports nothing: import from the
module.
"""
