"""What both stores can keep exactly: text without U+0000 or lone surrogates, 64-bit integers.

PostgreSQL refuses U+0000 in text and JSON and cannot encode a lone surrogate (UTF-8 has
none); SQLite took both, so one input gave 400 on one store and 500 on the other. Integers
are stored as signed 64-bit on both. Every JSON body and every string a client sends is
checked here before anything is stored (one walk, skipped when the JSON text cannot hold
such a value), and refused naming the field.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, NoReturn

import orjson

from intelgraph.kernel.errors import UNSTORABLE_VALUE, IntelGraphError

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_SURROGATE = re.compile("[\ud800-\udfff]")
_UNSTORABLE_CHAR = re.compile("[\x00\ud800-\udfff]")
MAX_FIELD_CHARS = 200  # a field named in an error: keys can be long
# orjson decodes integer literals beyond 64 bits as floats: a text with a run of 19 digits
# (as long as 2**63) goes to the exact decoder instead.
_LONG_RUN = 19  # digits: the shortest integer that may not fit signed 64 bits
_DIGITS_AS_ZERO = bytes(48 if 48 <= c <= 57 else 32 for c in range(256))
_DIGITS = b"0123456789"

PathPart = str | int


@dataclass(frozen=True, slots=True)
class Unstorable:
    """Where a value cannot be stored (``attributes.n``, ``variables.id``) and why."""

    field: str
    reason: str
    limits: tuple[tuple[str, int], ...] = ()

    def to_error(self) -> IntelGraphError:
        """The client's error: UNSTORABLE_VALUE (400, category VALIDATION)."""
        name = self.field or "the value"
        return IntelGraphError(
            UNSTORABLE_VALUE,
            f"'{name}' {self.reason}",
            {"field": self.field, "reason": self.reason, **dict(self.limits)},
        )


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored, or None when it can."""
    if "\x00" in text:
        return "contains U+0000 (NUL), which cannot be stored; remove it"
    if not text.isascii():
        found = _SURROGATE.search(text)
        if found is not None:
            return (
                f"contains the lone surrogate U+{ord(found.group()):04X}, which is not a "
                "character and cannot be stored; send a complete surrogate pair or remove it"
            )
    return None


def find_unstorable(value: Any, root: tuple[PathPart, ...] = ()) -> Unstorable | None:
    """The first string, object key or number in a decoded JSON ``value`` that cannot be
    stored exactly, or None. Visits each node once, without recursion (any depth)."""
    stack: list[tuple[Any, tuple[PathPart, ...]]] = [(value, root)]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            for key, child in node.items():
                if isinstance(key, str) and (reason := text_problem(key)) is not None:
                    return Unstorable(_render((*path, key)), "is an object key that " + reason)
                if isinstance(child, dict | list):
                    stack.append((child, (*path, key)))
                elif (found := _scalar_problem(child, (*path, key))) is not None:
                    return found
        elif isinstance(node, list):
            for index, child in enumerate(node):
                if isinstance(child, dict | list):
                    stack.append((child, (*path, index)))
                elif (found := _scalar_problem(child, (*path, index))) is not None:
                    return found
        elif (found := _scalar_problem(node, path)) is not None:
            return found
    return None


def require_storable(value: Any, root: tuple[PathPart, ...] = ()) -> None:
    """Raise UNSTORABLE_VALUE naming the first part of ``value`` that cannot be stored."""
    found = find_unstorable(value, root)
    if found is not None:
        raise found.to_error()


class UnstorableError(Exception):
    """Raised by :func:`loads`: the JSON holds text or a number neither store can keep."""

    def __init__(self, found: Unstorable) -> None:
        super().__init__(f"'{found.field}' {found.reason}")
        self.found = found


def loads(raw: bytes, root: tuple[PathPart, ...] = ()) -> Any:
    """Decode JSON whose every string, key and number both stores can keep.

    Raises UnstorableError naming the first field that cannot be stored (under ``root``:
    ``("variables",)`` names ``variables.id``), ValueError with orjson's message for
    malformed JSON. orjson decodes, and itself refuses control bytes, non-finite numbers and
    lone surrogates; the walk runs only on a text that could hold what orjson lets through:
    a ``\\u0000`` escape, or a run of 19 digits (orjson turns integers beyond 64 bits into
    floats, so such a text is decoded by the standard library, which keeps them exact). A
    text orjson refuses is decoded that way too, so a lone surrogate is named by its field.
    """
    if _has_long_digits(raw):
        value = _exact_loads(raw)
    else:
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as refused:
            _raise_unstorable_or(raw, root, refused)
        if b"\\u0000" not in raw:
            return value
    found = find_unstorable(value, root)
    if found is not None:
        raise UnstorableError(found)
    return value


def plainly_storable(raw: bytes) -> bool:
    """Whether ``raw`` holds neither a ``\\u0000`` escape nor a run of 19 digits: then a
    value :func:`loads` returns for ``raw``, or for any part of it, is ``orjson.loads``'s
    (what orjson refuses, :func:`loads` still words: it may name an unstorable field)."""
    return b"\\u0000" not in raw and not _has_long_digits(raw)


def _has_long_digits(raw: bytes) -> bool:
    # Counting digits first is cheap and almost always enough; then every digit becomes "0"
    # and everything else a space, and a substring search (C speed) finds a run of 19: ten
    # times cheaper than a regular expression on a 1 MB body.
    if len(raw) - len(raw.translate(None, _DIGITS)) < _LONG_RUN:
        return False
    return raw.translate(_DIGITS_AS_ZERO).find(b"0" * _LONG_RUN) >= 0


def _raise_unstorable_or(raw: bytes, root: tuple[PathPart, ...], refused: ValueError) -> NoReturn:
    """Raise UnstorableError when unstorable text is why orjson refused ``raw``, else
    ``refused`` itself: nothing orjson refuses is accepted."""
    try:
        value = _exact_loads(raw)
    except ValueError:
        raise refused from None
    found = find_unstorable(value, root)
    if found is None:
        raise refused from None
    raise UnstorableError(found) from None


def _exact_loads(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _scalar_problem(value: Any, path: tuple[PathPart, ...]) -> Unstorable | None:
    if isinstance(value, str):
        reason = text_problem(value)
        return None if reason is None else Unstorable(_render(path), reason)
    if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        return Unstorable(
            _render(path),
            f"is an integer outside the signed 64-bit range ({INT64_MIN} to {INT64_MAX}); "
            "send it as a string",
            (("min", INT64_MIN), ("max", INT64_MAX)),
        )
    if isinstance(value, float) and not math.isfinite(value):
        return Unstorable(_render(path), "is not a finite number; send one that is")
    return None


def _render(path: tuple[PathPart, ...]) -> str:
    """``attributes.tags.0``; unstorable characters of keys shown as ``\\u0000``."""
    text = ".".join(str(part) for part in path)
    if len(text) > MAX_FIELD_CHARS:
        text = text[:MAX_FIELD_CHARS] + "…"
    return _UNSTORABLE_CHAR.sub(lambda found: f"\\u{ord(found.group()):04x}", text)
