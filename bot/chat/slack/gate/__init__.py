"""What a Slack request must pass before it runs: the signature and its shape (``inbound``,
before Bolt; ``bolt_check`` inside it), repeats (``replay``) and the responder check
(``guard``)."""
