"""Which playbooks ``vigil run`` loads: yours (``playbooks_dir``) first, the bundled ones
filling the gaps by name. Shared by start-up (:mod:`bot.runtime.app`) and ``vigil check``, and apart
from the service that runs them, so checking loads no database or HTTP code.
"""

from __future__ import annotations

from bot.config.load import Settings
from bot.core.errors import ConfigError
from bot.core.resources import bundled
from bot.playbooks.loader import load_playbook_dirs
from bot.playbooks.schema import Playbook


def load_configured_playbooks(settings: Settings) -> dict[str, Playbook]:
    """Your ``playbooks_dir`` first, the bundled playbooks filling the gaps by name."""
    dirs = []
    if settings.playbooks_dir is not None:
        if not settings.playbooks_dir.is_dir():
            raise ConfigError(
                f"no such directory: {settings.playbooks_dir}",
                where=str(settings.config_path or "configuration"),
                key="playbooks_dir",
            )
        dirs.append(settings.playbooks_dir)
    return load_playbook_dirs([*dirs, bundled("playbooks")])
