"""``Secret``: a token that never shows itself; its own module so any layer can use it."""

from __future__ import annotations

import hmac


class Secret:
    """A token that never shows itself in logs, reprs or exception messages."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def matches(self, candidate: str) -> bool:
        """Constant-time comparison, so response timing does not leak the token.

        A header that is not UTF-8 reaches us as text with surrogates standing for its
        bytes (aiohttp decodes with ``surrogateescape``); it is compared as it came, and
        simply does not match, instead of failing to encode."""
        return hmac.compare_digest(_raw(self._value), _raw(candidate))

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__


def _raw(text: str) -> bytes:
    """``text`` as UTF-8, surrogates kept (one to one, so equal bytes mean equal text)."""
    return text.encode("utf-8", "surrogatepass")
