"""Progressive rollouts driven by the canary judge (issue 17.4): the I/O around the pure
:mod:`bot.rollout` (``tables`` the rows, ``store`` their statements, ``service`` start,
status and abort, ``driver`` one look per interval, ``chat`` the messages)."""
