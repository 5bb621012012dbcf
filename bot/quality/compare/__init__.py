"""Comparing model versions: each version's evidence by the minute (``ledger``) and a
shadow's outputs paired with the live ones (``shadow``). Pure."""
