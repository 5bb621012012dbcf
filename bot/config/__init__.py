"""Reading ``vigil.yaml``: the loader (``load``), the shared validators (``checks``), the
pydantic base (``model``) and the ``http:`` section (``http``).

Empty on purpose: every section's parser imports ``bot.config.checks`` or
``bot.config.model``, and ``load`` imports every section, so an ``__init__`` that loaded
``load`` would be a loop.
"""
