"""Everything on call that ``vigil.yaml`` configures, in one value: routing, rotations,
schedules and SLA targets.

Built by ``bot/config/load.py``; the composition root hands its parts to the Pager, the
schedule book, the SLA and handoff watchers and ``/incident oncall``. It lives apart from
the rooms because it names what each of them configures, and apart from ``status.py``
because wording an answer is not the settings' job. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from bot.oncall.paging.routing import Routing
from bot.oncall.schedules.layers import Schedule
from bot.oncall.schedules.roster import Rotation
from bot.oncall.sla.clocks import DEFAULT_SLA, SlaSettings


@dataclass(frozen=True)
class OncallSettings:
    """Who pages for what (``routing``: policies, routes, what each severity does, working
    hours; empty: nobody is paged), the rotations and schedules its levels may name, and the
    SLA targets per severity (their business days follow the same working hours)."""

    routing: Routing = field(default_factory=Routing)
    rotations: Mapping[str, Rotation] = field(default_factory=lambda: MappingProxyType({}))
    schedules: Mapping[str, Schedule] = field(default_factory=lambda: MappingProxyType({}))
    sla: SlaSettings = DEFAULT_SLA
