"""The parts of a classification policy: its conditions and rules, the default table, the
``classification:`` parser and the wording of a reason. ``bot.incidents.policy.classify`` joins
them into a ``Policy`` and applies it."""
