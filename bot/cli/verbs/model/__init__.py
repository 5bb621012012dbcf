"""``vigil model …``: one module per group of actions, so each loads only what it uses:
``registry`` (list, register, promote, canary with a share, retire, history), ``reference``
(reads a dataset: pyarrow), ``references`` (stored profiles: numpy), ``rollout`` (the judge),
``shadow`` (asks the running server)."""
