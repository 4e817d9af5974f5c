"""Redaction of secret values in every form they take on the way out (issue 11, Build 4).

A secret rarely leaves as the plain string alone. ``Redactor`` also matches:

- escaped forms: ``repr``/``ascii`` (quotes, backslashes, ``\\xNN``/``\\uNNNN``), JSON
  string escapes, and the ``repr`` of the UTF-8 bytes (``b'...'`` text);
- encodings: base64 (standard and URL-safe, at each of the three byte alignments, so a
  secret inside a larger encoded blob such as HTTP Basic ``user:password`` is found too),
  hex and percent-encoding (both case-insensitive);
- numbers: a secret that is a number is matched as its decimal text, and a number in
  data equal to it is replaced;
- truncated fragments: a prefix of a secret (at least ``MIN_FRAGMENT`` characters) that
  ends where a message was cut (``...``, ``…``, end of text) and a suffix that starts right
  after such a cut — the way pydantic, ``reprlib`` and log truncation shorten long values.

``data`` walks JSON-like values, tuples, sets and bytes included. What it cannot find:
secrets transformed in other ways (encrypted, hashed, split across separate messages,
re-encoded twice), and values shorter than ``MIN_LENGTH`` (they would redact ordinary words).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"
MIN_LENGTH = 4  # shorter values would redact ordinary words
MIN_FRAGMENT = 6  # shortest truncated piece of a secret that is still redacted
_CUT = r"(?:\.\.\.|…|\[truncated|['\"]?[ \t]*(?:\r?\n|\Z))"  # a cut, or the end of a line
_CUT_BEFORE = re.compile(r"(?:\.\.\.|…)\Z")


def secret_values(secrets: Mapping[str, Any]) -> list[str]:
    """Every secret value (nested values, numbers and bytes included) as text, longest first."""
    found: set[str] = set()

    def collect(value: Any) -> None:
        if isinstance(value, bool) or value is None:
            return
        if isinstance(value, Mapping):
            for item in value.values():
                collect(item)
        elif isinstance(value, list | tuple | set | frozenset):
            for item in value:
                collect(item)
        else:
            if isinstance(value, bytes | bytearray):
                text = bytes(value).decode("utf-8", "replace")
            else:
                text = value if isinstance(value, str) else str(value)
            if len(text) >= MIN_LENGTH:
                found.add(text)

    for keys in secrets.values():
        collect(keys)
    return sorted(found, key=len, reverse=True)


def _escaped_forms(secret: str) -> set[str]:
    """The secret as text and as the escaped text of a repr or JSON string (truncations cut these)."""
    return {secret, repr(secret)[1:-1], ascii(secret)[1:-1], json.dumps(secret)[1:-1]}


def _base64_forms(raw: bytes) -> set[str]:
    """The part of ``raw``'s base64 that does not depend on its neighbours, per alignment."""
    forms = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode("ascii")
        start = -(-8 * offset // 6)  # the first character made only of raw's bits
        end = 8 * (offset + len(raw)) // 6
        for piece in (encoded[start:end], encoded if offset == 0 else ""):
            if len(piece) >= MIN_LENGTH:
                forms.add(piece)
                forms.add(piece.replace("+", "-").replace("/", "_"))
    return forms


def variants(secret: str) -> tuple[set[str], set[str]]:
    """(exact forms, case-insensitive forms) in which ``secret`` may appear in text."""
    raw = secret.encode("utf-8", "surrogatepass")
    exact = {
        *_escaped_forms(secret),
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(raw)[2:-1],
        *_base64_forms(raw),
    }
    folded = {raw.hex(), quote(secret, safe=""), quote(secret), quote_plus(secret)}
    folded -= exact
    return {v for v in exact if len(v) >= MIN_LENGTH}, {v for v in folded if len(v) >= MIN_LENGTH}


class Redactor:
    """Replaces secret values (in every form above) in text and data before they leave the engine."""

    def __init__(self, values: Iterable[str]) -> None:
        self.secrets = tuple(sorted(set(values), key=len, reverse=True))
        exact: set[str] = set()
        folded: set[str] = set()
        for secret in self.secrets:
            more_exact, more_folded = variants(secret)
            exact |= more_exact
            folded |= more_folded
        self.forms = tuple(sorted(exact | folded, key=len, reverse=True))
        alternatives = [re.escape(v) for v in sorted(exact, key=len, reverse=True)]
        alternatives += [f"(?i:{re.escape(v)})" for v in sorted(folded, key=len, reverse=True)]
        self._pattern = re.compile("|".join(alternatives)) if alternatives else None
        escaped = {form for secret in self.secrets for form in _escaped_forms(secret)}
        long_enough = [s for s in escaped if len(s) > MIN_FRAGMENT]
        self._heads: dict[str, list[str]] = {}
        self._tails: dict[str, list[str]] = {}
        for secret in long_enough:
            self._heads.setdefault(secret[:MIN_FRAGMENT], []).append(secret)
            self._tails.setdefault(secret[-MIN_FRAGMENT:], []).append(secret)
        self._head_re = _literal_union(self._heads)
        self._tail_re = _literal_union(self._tails)

    @classmethod
    def for_secrets(cls, secrets: Mapping[str, Any]) -> Redactor:
        return cls(secret_values(secrets))

    def __bool__(self) -> bool:
        return self._pattern is not None

    def text(self, value: str) -> str:
        if self._pattern is None:
            return value
        value = self._pattern.sub(REDACTED, value)
        heads, tails = self._head_re, self._tail_re
        if heads is not None and tails is not None and (heads.search(value) or tails.search(value)):
            value = self._fragments(value)
        return value

    def data(self, value: Any) -> Any:
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.data(k) if isinstance(k, str) else k: self.data(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.data(item) for item in value]
        if isinstance(value, tuple | set | frozenset):
            return type(value)(self.data(item) for item in value)
        if isinstance(value, bytes | bytearray):
            text = bytes(value).decode("utf-8", "surrogateescape")
            return type(value)(self.text(text).encode("utf-8", "surrogateescape"))
        if isinstance(value, int | float) and not isinstance(value, bool):
            shown = str(value)
            return REDACTED if self.text(shown) != shown else value
        return value

    def holdback(self, text: str) -> int:
        """How many trailing characters of ``text`` could begin a secret (kept back by streams)."""
        longest = 0
        for form in self.forms:
            start = max(0, len(text) - len(form) + 1)
            while (found := text.find(form[0], start)) != -1:
                if form.startswith(text[found:]):
                    longest = max(longest, len(text) - found)
                    break
                start = found + 1
        return longest

    def _fragments(self, value: str) -> str:
        spans: list[tuple[int, int]] = []
        assert self._head_re is not None and self._tail_re is not None
        for match in self._head_re.finditer(value):
            start = match.start()
            for secret in self._heads[match.group()]:
                end = start + _common_prefix(value, start, secret)
                if end - start < len(secret) and re.match(_CUT, value[end:]):
                    spans.append((start, end))
        for match in self._tail_re.finditer(value):
            end = match.end()
            for secret in self._tails[match.group()]:
                start = end - _common_suffix(value, end, secret)
                if end - start < len(secret) and (start == 0 or _CUT_BEFORE.search(value[:start])):
                    spans.append((start, end))
        merged: list[list[int]] = []
        for start, end in sorted(spans):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        for start, end in reversed(merged):
            value = value[:start] + REDACTED + value[end:]
        return value


def _literal_union(pieces: Mapping[str, object]) -> re.Pattern[str] | None:
    if not pieces:
        return None
    return re.compile("|".join(re.escape(p) for p in sorted(pieces, key=len, reverse=True)))


def _common_prefix(text: str, start: int, secret: str) -> int:
    size = 0
    limit = min(len(secret), len(text) - start)
    while size < limit and text[start + size] == secret[size]:
        size += 1
    return size


def _common_suffix(text: str, end: int, secret: str) -> int:
    size = 0
    limit = min(len(secret), end)
    while size < limit and text[end - 1 - size] == secret[-1 - size]:
        size += 1
    return size
