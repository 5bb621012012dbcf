"""What the far end of a webhook says is redacted before Vigil writes it anywhere."""

from __future__ import annotations

from bot.notify.http import redact

URL = "https://ops:pa55word@hooks.example/v1/vigil?team=ml&access_token=abc123xyz&sig=5f5f"


def test_the_urls_secrets_and_any_echoed_credentials_are_redacted() -> None:
    said = (
        "403 for /v1/vigil?team=ml&access_token=abc123xyz&sig=5f5f by ops:pa55word; "
        "try https://admin:root@hooks.example/ with apiKey=zz9 (team ml)"
    )
    assert redact(said, URL) == (
        "403 for /v1/vigil?team=ml&access_token=********&sig=******** by ********; "
        "try https://********@hooks.example/ with apiKey=******** (team ml)"
    )


def test_words_that_only_look_like_short_values_are_kept() -> None:
    url = "https://hooks.example/hook?key=ab&page=2"
    assert redact("page 2 of ab-tests: no key=ab here", url) == (
        "page 2 of ab-tests: no key=******** here"
    )
