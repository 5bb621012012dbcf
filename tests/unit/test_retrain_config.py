"""The ``retraining:`` section: one orchestrator per model, each mistake named at its key,
tokens only from the environment and never printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config.load import load_settings
from bot.core.errors import ConfigError


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    path = tmp_path / "vigil.yaml"
    path.write_text(text)
    return load_settings(path, env or {})


def test_a_full_entry_is_read(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        "retraining:\n"
        "  fraud-scorer:\n"
        "    airflow: {url: 'https://airflow.internal/', dag_id: retrain, api: v2,"
        " token_env: AF_TOKEN}\n"
        "    schedule: '0 3 * * 1'\n"
        "    drift: {drifted: 3, of: 6, window: 1h, psi: 0.25}\n"
        "    cooldown: 12h\n"
        "    poll: 30s\n",
        {"AF_TOKEN": "s3cr3t-token"},
    )
    plan = settings.retraining["fraud-scorer"]
    assert plan.orchestration.kind == "airflow"
    assert plan.orchestration.url == "https://airflow.internal"
    assert plan.orchestration.api == "v2"
    assert plan.orchestration.token is not None
    assert plan.orchestration.token.reveal() == "s3cr3t-token"
    assert (plan.drift.drifted, plan.drift.of, plan.drift.psi) == (3, 6, 0.25)  # type: ignore[union-attr]
    assert plan.cooldown.total_seconds() == 12 * 3600
    assert plan.poll.total_seconds() == 30
    assert "s3cr3t" not in repr(settings)


def test_a_webhook_without_url_uses_retrain_url(tmp_path: Path) -> None:
    settings = load(
        tmp_path, "retrain_url: https://trainer.internal/r\nretraining: {m: {webhook: {}}}\n"
    )
    assert settings.retraining["m"].orchestration.url == "https://trainer.internal/r"


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ("retraining: {m: {}}", "retraining.m", "set exactly one orchestrator"),
        (
            "retraining: {m: {webhook: {url: 'http://a'}, prefect: {url: 'http://b',"
            " deployment_id: d}}}",
            "retraining.m",
            "set exactly one orchestrator (airflow, prefect, github, webhook); "
            "got prefect, webhook",
        ),
        ("retraining: {m: {airflow: {url: 'http://a'}}}", "retraining.m.airflow.dag_id", ""),
        (
            "retraining: {m: {airflow: {url: 'http://a', dag_id: d, api: v3}}}",
            "retraining.m.airflow.api",
            "",
        ),
        ("retraining: {m: {webhook: {}}}", "retraining.m.webhook.url", "retrain_url is not set"),
        (
            "retraining: {m: {webhook: {url: 'http://a'}, schedule: 'every monday'}}",
            "retraining.m.schedule",
            "is not a cron expression",
        ),
        (
            "retraining: {m: {webhook: {url: 'http://a'}, drift: {drifted: 4, of: 3, window: 1h}}}",
            "retraining.m.drift.drifted",
            "is more than of (3)",
        ),
        (
            "retraining: {m: {webhook: {url: 'http://a'}, drift: {drifted: 1, of: 3}}}",
            "retraining.m.drift.window",
            "",
        ),
        (
            "retraining: {m: {github: {repo: acme/models, workflow: r.yml, token_env: GH_TOKEN}}}",
            "retraining.m.github.token_env",
            "names GH_TOKEN, so set GH_TOKEN in the environment",
        ),
        (
            "retraining: {m: {github: {repo: acme, workflow: r.yml, token_env: GH}}}",
            "retraining.m.github.repo",
            "must be owner/name",
        ),
        (
            "retraining: {m: {webhook: {url: 'http://a'}, cooldwn: 1h}}",
            "retraining.m.cooldwn",
            "unknown key (allowed: airflow, prefect, github, webhook, schedule, drift,",
        ),
        ("retraining: [m]", "retraining", "must be a mapping"),
    ],
)
def test_each_mistake_is_named_at_its_key(
    tmp_path: Path, text: str, key: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text + "\n")
    assert caught.value.key == key, str(caught.value)
    assert message in str(caught.value)
