"""Drift statistics: how far a production window's distribution moved from the reference's.

``inputs`` (types, validation, proportions), ``samples`` (raw samples into counts),
``divergence`` (PSI, KL, JS), ``stat_tests`` (chi-square, KS), ``wasserstein``,
``methods`` (the methods by name, thresholds and defaults), and ``changepoint`` (where in a
window's panes the inputs changed: the test behind ``detect: changepoint``).
"""
