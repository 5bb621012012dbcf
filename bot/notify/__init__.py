"""Notification channels beyond chat: PagerDuty, a signed generic webhook and e-mail.

Each channel turns one :class:`~bot.notify.base.Notification` into one delivery attempt and
says what became of it (``Delivered``, ``Retry`` or ``GiveUp``) instead of raising, so the
caller (the pager, the outbox) decides about retries and :mod:`bot.notify.fallback` can move
on to the next channel when one fails. Pure modules: ``base``, ``fallback``,
``pagerduty_webhook``; the others do network I/O.
"""
