"""The top level of vigil.yaml: an unknown key is named, whatever YAML read it as."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config.load import load_settings
from bot.core.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("databse_url: sqlite:///v.db\n", "databse_url"),
        ("on: true\n", "True"),  # YAML 1.1 reads a bare `on:` as true
        ("5: x\n", "5"),
    ],
)
def test_an_unknown_top_level_key_is_named_with_the_keys_allowed(
    tmp_path: Path, text: str, key: str
) -> None:
    path = tmp_path / "vigil.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, {})
    assert caught.value.key == key
    assert str(caught.value).startswith(
        f"{path}: {key}: unknown key (allowed: auto_resolve, classification, database_url,"
    )
