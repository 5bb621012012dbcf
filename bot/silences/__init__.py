"""Silences and inhibition: what Vigil hushes, and why (issue 18).

Pure: ``matchers.py`` (Alertmanager's label matchers exactly, their text and API v2 JSON
forms, and ``refusal``, Vigil's guard against a silence that would hush everything),
``re2.py`` (Alertmanager's RE2 regexes read the same way by Python), ``inhibit.py``
(inhibition rules: which firing alert mutes another, strict about ``equal`` labels) and
``config.py`` (the ``inhibit_rules:`` section of ``vigil.yaml``). Re-exports nothing:
import from the module.
"""
