"""Fixtures the integration tests share."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config.load import load_settings
from bot.oncall.settings import OncallSettings

TWO_LEVELS = """
escalation:
  levels:
    - {notify: ["@alice"], wait: 5m}
    - {notify: ["@bob"], wait: 10m}
"""


@pytest.fixture
def oncall(tmp_path: Path) -> OncallSettings:
    """@alice, then @bob after 5 min without an ack (a module may define its own)."""
    path = tmp_path / "vigil.yaml"
    path.write_text(TWO_LEVELS)
    return load_settings(path, {}).oncall
