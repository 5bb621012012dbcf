"""``vigil model shadow MODEL VERSION``: how a shadow version compares with what serves.

The comparison is read through a running server, as any other client reads it (the pairs
are in the database, ``bot.monitoring.shadow_store``, but judged with the server's
settings), so this verb asks over HTTP: ``GET /api/v1/models/MODEL/shadow?
version=VERSION`` at ``--url`` (default: vigil.yaml's ``http`` host and port, or
``VIGIL_HOST``/``VIGIL_PORT``), with the API token of ``VIGIL_API_TOKEN``. It prints the
verdict and its reasons first, then the figures (``shadow_views.shadow_text``); exit 1 with
the server's one-line reason when it refuses (no shadow rows of that version, a bad token),
or when the server cannot be reached.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

from bot.cli.common import quiet
from bot.monitoring.shadow_views import shadow_text

TIMEOUT_S = 10.0


def main(args: argparse.Namespace) -> int:
    config = quiet(args).settings  # the top level: http, VIGIL_API_TOKEN
    host = "127.0.0.1" if config.host in ("0.0.0.0", "::", "") else config.host  # noqa: S104
    base = (args.url or f"http://{host}:{config.port}").rstrip("/")
    query = urllib.parse.urlencode({"version": args.version})
    url = f"{base}/api/v1/models/{urllib.parse.quote(args.model, safe='')}/shadow?{query}"
    if not url.startswith(("http://", "https://")):
        print(f"vigil: --url must be an http(s) URL, got {base!r}", file=sys.stderr)
        return 1
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    if config.api_token is not None:
        request.add_header("Authorization", f"Bearer {config.api_token.reveal()}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as resp:  # noqa: S310
            answer = json.load(resp)
    except urllib.error.HTTPError as exc:
        try:
            message = json.load(exc).get("message", exc.reason)
        except (ValueError, AttributeError):
            message = exc.reason
        print(f"vigil: {url}: {exc.code} {message}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as exc:
        print(
            f"vigil: could not reach Vigil at {base} ({exc}); is `vigil serve` running?",
            file=sys.stderr,
        )
        return 1
    print(shadow_text(answer))
    return 0
