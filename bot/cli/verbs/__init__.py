"""One module per ``vigil`` verb, imported by :mod:`bot.cli.main` only once the arguments
say which."""
