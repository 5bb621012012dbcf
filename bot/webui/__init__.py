"""The web view: server-rendered pages for the people who are not in Slack (issue 19).

Plain aiohttp handlers and a Jinja2 environment with autoescape on; the templates and the
one stylesheet live inside the package so an installed Vigil serves them. Behind the same
token as the API: a login form sets a signed session cookie (never the token itself).
"""
