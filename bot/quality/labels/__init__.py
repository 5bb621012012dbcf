"""Label health (issue 20.5): what the joined labels say about themselves. Pure."""
