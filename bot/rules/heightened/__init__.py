"""Heightened sensitivity after a fix: once an incident resolves, the rules that fired in it
judge its subject more tightly for a while (``sensitivity:`` in ``vigil.yaml``).

``config`` (the section) and ``tighten`` (the tightened rule and its words) are pure;
``watches`` reads the watches from the database and writes the timeline line at resolve.
Nothing is re-exported here, so importing the pure parts never loads the database layer.
"""
