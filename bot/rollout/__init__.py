"""Judging a new model version against the one that serves today (canary, A/B), in pure maths.

``sequential`` (always-valid p-values), ``counts`` (the two-sample statistics on counts),
``evidence`` (one test's evidence, vectorised so the bench runs thousands of rollouts at
once), ``observations`` (what the caller hands in, the settings, the verdicts), ``wording``
(the reasons in words) and ``judge`` (the verdict). No I/O: the rollout driver reads the
database and feeds plain values in.
"""
