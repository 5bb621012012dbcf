"""Alertmanager's regular expressions (Go's RE2 syntax) as Python ``re`` patterns. Pure.

A silence Vigil accepts must mean what it means in Alertmanager: ``amtool`` users copy their
matchers both ways. Python's ``re`` reads some of the same text differently, so
:func:`translate` rewrites those parts and refuses, with the reason, what one of the two
would read and the other would not:

* read differently, rewritten: ``\\d``, ``\\w``, ``\\s`` and ``\\b`` are ASCII in Go (Unicode
  in Python); ``$`` is the end of the text in Go (Python also matches before a final
  newline); ``\\z`` is Python's ``\\Z``; ``\\x{263a}``; ``\\Q…\\E`` quoting; ``x{,3}`` is
  literal text in Go (a repeat in Python); a flag group ``(?i)`` at the start of a group
  applies to the rest of that group in both, written ``(?i:…)`` for Python; a ``[`` ``&``
  ``~`` or ``|`` inside a class is escaped (Python warns about nested sets).
* refused: backreferences (``\\1``, ``(?P=name)``), lookaround (``(?=``, ``(?!``, ``(?<=``,
  ``(?<!``), atomic groups ``(?>``, possessive repeats (``a*+``), conditionals, comments
  ``(?#``, ``(?<name>`` groups, ``\\Z``, ``\\p{…}`` Unicode classes, ``[[:alpha:]]`` classes,
  the ungreedy flag ``U``, a flag group in the middle of a group, repeats over 1000, and
  escapes either side does not know.

The result is matched whole (``re.fullmatch``), as Alertmanager anchors ``^(?:…)$``.
"""

from __future__ import annotations

import re

__all__ = ["translate"]

_WORD = "0-9A-Za-z_"
_SPACE = "\\t\\n\\f\\r "
_SHORT = {"d": "0-9", "w": _WORD, "s": _SPACE}  # Go's ASCII classes, as class contents
_BOUNDARY = f"(?:(?<=[{_WORD}])(?![{_WORD}])|(?<![{_WORD}])(?=[{_WORD}]))"
_NOT_BOUNDARY = f"(?:(?<=[{_WORD}])(?=[{_WORD}])|(?<![{_WORD}])(?![{_WORD}]))"
_SIMPLE = {"a": "\\a", "f": "\\f", "t": "\\t", "n": "\\n", "r": "\\r", "v": "\\v", "A": "\\A"}
_REPEAT = re.compile(r"\{(\d+)(,(\d*))?\}")
_HEX_BRACED = re.compile(r"x\{([0-9A-Fa-f]{1,8})\}")
_HEX = re.compile(r"x[0-9A-Fa-f]{2}")
_OCTAL = re.compile(r"0[0-7]{0,2}")
_FLAGS = re.compile(r"\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])")
_NAMED = re.compile(r"\(\?P<[A-Za-z_][A-Za-z0-9_]*>")
_MAX_REPEAT = 1000
_REFUSED_GROUPS = (
    ("(?P=", "a backreference (?P=name)"),
    ("(?=", "a lookahead (?=…)"),
    ("(?!", "a negative lookahead (?!…)"),
    ("(?<=", "a lookbehind (?<=…)"),
    ("(?<!", "a negative lookbehind (?<!…)"),
    ("(?>", "an atomic group (?>…)"),
    ("(?#", "a comment (?#…)"),
    ("(?(", "a conditional (?(…)…)"),
    ("(?<", "a named group written (?<name>…) (write (?P<name>…))"),
)


def _refuse(what: str) -> ValueError:
    return ValueError(f"uses {what}, which Alertmanager's regular expressions (RE2) lack")


class _Translator:
    """One pass over the pattern; ``closers`` holds, per open group, the text that closes
    it (``)`` plus one more per flag group opened at its start), and ``multiline`` whether
    ``(?m)`` is in force there."""

    def __init__(self, pattern: str) -> None:
        self.src = pattern
        self.i = 0
        self.out: list[str] = []
        self.closers: list[str] = []
        self.multiline: list[bool] = [False]
        self.group_start = True  # nothing written yet in the current group
        self.pending_top = ""  # closers of flag groups opened at the pattern's start

    def run(self) -> str:
        while self.i < len(self.src):
            char = self.src[self.i]
            start, self.group_start = self.group_start, False
            if char == "\\":
                self.out.append(self._escape(in_class=False))
            elif char == "[":
                self.out.append(self._class())
            elif char == "(":
                self._open(start)
            elif char == ")":
                if not self.closers:
                    raise ValueError("has a ) without its (")
                self.out.append(self.closers.pop())
                self.multiline.pop()
                self.i += 1
            elif char == "$":
                self.out.append("$" if self.multiline[-1] else "\\Z")
                self.i += 1
            elif char == "{":
                self.out.append(self._brace())
            elif char in "*+?":
                self.out.append(char)
                self.i += 1
                if self.src[self.i : self.i + 1] == "+":
                    raise _refuse(f"a possessive repeat {char}+")
            else:
                self.out.append(char)
                self.i += 1
        if self.closers:
            raise ValueError("has a ( without its )")
        return "".join(self.out) + self.pending_top

    def _open(self, at_group_start: bool) -> None:
        rest = self.src[self.i :]
        if not rest.startswith("(?"):
            self._push("(", ")", self.multiline[-1])
            return
        named = _NAMED.match(rest)
        if rest.startswith("(?:") or named:
            self._push(named.group(0) if named else "(?:", ")", self.multiline[-1])
            return
        flags = _FLAGS.match(rest)
        if flags is None:
            for prefix, what in _REFUSED_GROUPS:
                if rest.startswith(prefix):
                    raise _refuse(what)
            raise ValueError(f"has a group Alertmanager cannot read: {rest[:8]!r}")
        on, off, end = flags.group(1), flags.group(2) or "", flags.group(3)
        if not on + off:
            raise ValueError(f"has an empty flag group {flags.group(0)}")
        if "U" in on + off:
            raise _refuse("the ungreedy flag U")
        unknown = sorted(set(on + off) - set("ims"))
        if unknown:
            raise ValueError(f"has the unknown flag {unknown[0]!r} (RE2 knows i, m, s)")
        multiline = ("m" in on) or (self.multiline[-1] and "m" not in off)
        text = f"(?{on}-{off}:" if off else f"(?{on}:"
        self.i += flags.end()
        if end == ":":
            self.out.append(text)
            self.closers.append(")")
            self.multiline.append(multiline)
            self.group_start = True
            return
        if not at_group_start:
            raise ValueError(
                f"has the flags ({flags.group(0)[1:]} in the middle of a group: put them at its "
                "start, e.g. (?i)payments"
            )
        # (?i) at a group's start rules the rest of that group: open a scoped group there.
        self.out.append(text)
        self.multiline[-1] = multiline
        if self.closers:
            self.closers[-1] = ")" + self.closers[-1]
        else:
            self.pending_top += ")"
        self.group_start = True

    def _push(self, head: str, closer: str, multiline: bool) -> None:
        self.out.append(head)
        self.i += len(head)
        self.closers.append(closer)
        self.multiline.append(multiline)
        self.group_start = True

    def _brace(self) -> str:
        repeat = _REPEAT.match(self.src, self.i)
        if repeat is None:
            self.i += 1
            return "\\{"  # Go reads a brace that is no repeat as text; so must Python
        low, comma, high = repeat.group(1), repeat.group(2), repeat.group(3)
        if int(low) > _MAX_REPEAT or (high and int(high) > _MAX_REPEAT):
            raise ValueError(f"repeats {repeat.group(0)}: RE2 allows at most {_MAX_REPEAT}")
        if high and int(high) < int(low):
            raise ValueError(f"has the repeat {repeat.group(0)} whose maximum is below its minimum")
        self.i = repeat.end()
        if self.src[self.i : self.i + 1] == "+":
            raise _refuse(f"a possessive repeat {repeat.group(0)}+")
        return "{" + low + (comma or "") + "}"

    def _class(self) -> str:
        """A ``[…]`` class, its escapes rewritten; ``]`` first (after ``^``) is text."""
        parts = ["["]
        self.i += 1
        if self.src[self.i : self.i + 1] == "^":
            parts.append("^")
            self.i += 1
        first = True
        while self.i < len(self.src):
            char = self.src[self.i]
            if char == "]" and not first:
                self.i += 1
                return "".join(parts) + "]"
            first = False
            if char == "\\":
                parts.append(self._escape(in_class=True))
            elif char == "[":
                if self.src.startswith("[:", self.i):
                    raise _refuse("a POSIX class such as [[:alpha:]] (write [a-zA-Z])")
                parts.append("\\[")
                self.i += 1
            elif char in "&~|]":
                parts.append("\\" + char)
                self.i += 1
            else:
                parts.append(char)
                self.i += 1
        raise ValueError("has a [ without its ]")

    def _escape(self, *, in_class: bool) -> str:
        """The escape at ``self.i`` (a backslash) in Python's words, or a refusal."""
        nxt = self.src[self.i + 1 : self.i + 2]
        self.i += 2
        if nxt == "":
            raise ValueError("ends with a lone backslash")
        if nxt in _SHORT:
            return _SHORT[nxt] if in_class else f"[{_SHORT[nxt]}]"
        if nxt in "DWS":
            if in_class:
                raise _refuse(f"\\{nxt} inside [...]")
            return f"[^{_SHORT[nxt.lower()]}]"
        if nxt in "bB" and not in_class:
            return _BOUNDARY if nxt == "b" else _NOT_BOUNDARY
        if nxt == "z" and not in_class:
            return "\\Z"
        if nxt in _SIMPLE and (nxt != "A" or not in_class):
            return _SIMPLE[nxt]
        if nxt == "x":
            return self._hex()
        if nxt == "0":
            octal = _OCTAL.match(self.src, self.i - 1)
            assert octal is not None
            self.i = octal.end()
            return "\\" + octal.group(0)
        if nxt in "123456789":
            raise _refuse(f"a backreference \\{nxt}")
        if nxt == "Q" and not in_class:
            end = self.src.find("\\E", self.i)
            text = self.src[self.i :] if end < 0 else self.src[self.i : end]
            self.i = len(self.src) if end < 0 else end + 2
            return re.escape(text)
        if nxt in "pP":
            raise _refuse(f"the Unicode class \\{nxt}{{…}}")
        if nxt.isascii() and not nxt.isalnum():
            return "\\" + nxt
        raise _refuse(f"the escape \\{nxt}")

    def _hex(self) -> str:
        braced = _HEX_BRACED.match(self.src, self.i - 1)
        if braced is not None:
            self.i = braced.end()
            code = int(braced.group(1), 16)
            if code > 0x10FFFF:
                raise ValueError(f"has \\{braced.group(0)}, past the last Unicode character")
            return f"\\U{code:08x}"
        plain = _HEX.match(self.src, self.i - 1)
        if plain is None:
            raise ValueError("has \\x without two hex digits or {hex}")
        self.i = plain.end()
        return "\\" + plain.group(0)


def translate(pattern: str) -> str:
    """``pattern`` as Alertmanager reads it (RE2), written for Python's ``re``, or
    ValueError saying what RE2 would not accept or Vigil cannot mean the same way."""
    return _Translator(pattern).run()
