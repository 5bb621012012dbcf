"""The web view's pages beyond the incidents: on call, models, silences, Vigil's status.

One module per page for its handlers and reads (``oncall``, ``models``, ``silences``,
``status``) and two pure ones for what they compute and draw (``oncall_view``: who is on
call and next, from the schedules and the time; ``charts``: inline SVG sparklines). Kept
light on purpose: importing a pure submodule loads this package first.
"""
