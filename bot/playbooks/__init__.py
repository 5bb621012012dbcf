"""The playbook engine: load YAML playbooks strictly, run them step by step, record each step.

``loader.load_playbooks(dir)`` → ``{name: Playbook}``; ``runner.PlaybookRunner.run`` → a
``RunResult``; actions by name live in ``bot.playbooks.actions``.
"""
