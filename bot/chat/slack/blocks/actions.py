"""The ``action_id`` of every button Vigil's messages carry.

The builders put them on buttons and the front door registers one handler per id, so both
read them from here. Pure.
"""

from __future__ import annotations

ACK = "vigil_ack"
ESCALATE = "vigil_escalate"
CONTAIN = "vigil_contain"
RESOLVE = "vigil_resolve"
ROLLBACK = "vigil_rollback"
ROLLBACK_CONFIRM = "vigil_rollback_confirm"
ROLLBACK_CANCEL = "vigil_rollback_cancel"
CONFIRM = "vigil_confirm"  # carries out the command a preview names (a silence)
#: Every action_id Vigil's messages carry, for registering handlers in one loop.
ACTIONS: tuple[str, ...] = (
    ACK,
    ESCALATE,
    CONTAIN,
    RESOLVE,
    ROLLBACK,
    ROLLBACK_CONFIRM,
    ROLLBACK_CANCEL,
    CONFIRM,
)
