"""Where Vigil's bundled defaults (templates, playbooks) live, installed or in a checkout.

An installed wheel carries them as ``bot/_bundled/<name>``; a source checkout (and an
editable install) has them at the repository's top level. Callers get one directory either
way and never guess paths themselves.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]


def bundled(name: str) -> Path:
    """The directory of bundled ``templates`` or ``playbooks``."""
    installed = _PACKAGE / "_bundled" / name
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / name
