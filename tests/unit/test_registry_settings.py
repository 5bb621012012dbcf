"""The ``registry:`` section: builtin by default, MLflow or a serving webhook when asked; every
error names its key, and no secret reaches a repr, a message or ``vigil check``'s line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config.load import load_settings
from bot.core.errors import ConfigError

TOKEN = "dapi-0123456789abcdef-mlflow-token"


def settings(tmp_path: Path, text: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    path = tmp_path / "vigil.yaml"
    path.write_text(text)
    return load_settings(path, env or {})


def test_the_built_in_registry_is_the_default(tmp_path: Path) -> None:
    chosen = settings(tmp_path, "log_level: INFO\n").registry
    assert chosen.kind == "builtin"
    assert chosen.describe().startswith("model registry: built-in")


def test_mlflow_with_its_aliases_and_a_token_that_never_shows(tmp_path: Path) -> None:
    chosen = settings(
        tmp_path,
        "registry:\n  kind: mlflow\n  mlflow:\n"
        "    tracking_uri: https://user:pw@mlflow.internal:5000/\n"
        "    stable_alias: prod\n    canary_alias: candidate\n",
        {"VIGIL_MLFLOW_TOKEN": TOKEN},
    ).registry
    assert chosen.mlflow is not None
    assert chosen.mlflow.token is not None
    assert chosen.mlflow.token.reveal() == TOKEN
    assert chosen.describe() == (
        "model registry: MLflow at https://mlflow.internal:5000 "
        "(alias prod = stable, candidate = canary, token from VIGIL_MLFLOW_TOKEN)"
    )
    for text in (repr(chosen), chosen.describe()):
        assert TOKEN not in text
        assert "pw" not in text


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("registry:\n  kind: sagemaker\n", "registry.kind", "must be one of builtin"),
        ("registry:\n  kind: mlflow\n", "registry.kind", "add a `registry.mlflow:` section"),
        (
            "registry:\n  kind: mlflow\n  mlflow:\n    trackin_uri: http://m:5000\n",
            "registry.mlflow.trackin_uri",
            "",
        ),
        (
            "registry:\n  kind: mlflow\n  mlflow:\n    tracking_uri: mlflow:5000\n",
            "registry.mlflow.tracking_uri",
            "http:// or https:// URL",
        ),
        (
            "registry:\n  mlflow:\n    tracking_uri: http://m\n    canary_alias: champion\n",
            "registry.mlflow.canary_alias",
            "must differ from stable_alias",
        ),
        (
            "registry:\n  mlflow:\n    tracking_uri: http://m\n    stable_alias: latest\n",
            "registry.mlflow.stable_alias",
            "reserved by MLflow",
        ),
        (
            "registry:\n  kind: webhook\n  webhook:\n    url: https://serving.internal/x\n",
            "registry.webhook",
            "set VIGIL_REGISTRY_WEBHOOK_SECRET",
        ),
    ],
)
def test_errors_name_the_key(tmp_path: Path, text: str, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(tmp_path, text)
    assert caught.value.key == key, str(caught.value)
    assert words in str(caught.value)


def test_a_serving_webhook_with_its_secret_from_the_environment(tmp_path: Path) -> None:
    secret = "0123456789abcdef0123"
    chosen = settings(
        tmp_path,
        "registry:\n  kind: webhook\n  webhook:\n    url: https://serving.internal/moves?t=abc\n",
        {"VIGIL_REGISTRY_WEBHOOK_SECRET": secret},
    ).registry
    assert chosen.describe() == (
        "model registry: serving webhook https://serving.internal "
        "(signed with VIGIL_REGISTRY_WEBHOOK_SECRET)"
    )
    assert secret not in repr(chosen)
    assert "abc" not in repr(chosen)
