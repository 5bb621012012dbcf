"""Follow-ups a committed change still owes: their table (``tables``) and the reactor that
runs them."""
