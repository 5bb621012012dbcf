"""Silences, maintenance windows and inhibition: what keeps an alert from paging (issue 18)."""
