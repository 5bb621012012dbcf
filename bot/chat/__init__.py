"""Chat front ends (Slack and the console) and the command layer they share."""
