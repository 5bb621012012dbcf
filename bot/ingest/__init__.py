"""Inbound alert formats, parsed and validated without I/O into ``AlertIn`` values."""
