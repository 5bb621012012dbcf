"""The model monitor's panes: what they hold (``parts``), where they live (``store``), how
posts reach them together (``writer``), and a version's range of them summed (``summary``)."""
