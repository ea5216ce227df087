"""Search terms: the tokens of an entity that `searchEntities` matches by prefix.

Terms are case-folded with accents removed (``Zoë`` → ``zoe``, ``Москва`` → ``москва``);
the prefix range ``[t, t⁺)`` assumes code-point order, which the ``term`` column's binary
collation gives on SQLite and PostgreSQL (see migration 0006).

A re-ingest finds an entity's stored terms by recomputing ``entity_terms`` from its stored
label and attributes (entity_terms has no entity_id index, migration 0012). So the terms
must stay a function of those two alone, and a change to what they yield needs a migration
that rebuilds the stored terms; otherwise old rows would outlive the entities' changes.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

SEARCHABLE_ATTRIBUTES = (
    "given_name",
    "surname",
    "full_name",
    "name",
    "email",
    "city",
    "country",
    "registration_id",
    "national_id",
    "username",
    "hostname",
    "domain",
)
_SEARCHABLE = frozenset(SEARCHABLE_ATTRIBUTES)
MAX_TERM_LENGTH = 64
_WORD = re.compile(r"[^\W_]+")  # a maximal run of letters and digits (any script)
# ASCII text folds to its lower case, where `_WORD` finds the runs of [a-z0-9]: a byte table
# that lowers letters, keeps digits and turns every other byte into a space gives the same
# runs to ``split()``, at half the cost of the regular expression.
_ASCII_WORDS = (
    bytes(
        (byte | 0x20 if chr(byte).isupper() else byte) if chr(byte).isalnum() else 0x20
        for byte in range(128)
    )
    + b" " * 128
)
# Folded tokens of whitespace-free chunks of non-ASCII text (names and places repeat; a
# cached chunk costs a fifth of folding it): folding is per character and never joins
# across whitespace, so the tokens of a text are its chunks' tokens in order. Only short
# chunks are kept, and the cache is emptied when full: a few MiB at most.
_CHUNK_TOKENS: dict[str, list[str]] = {}
_CHUNK_TOKENS_MAX = 20_000
_CACHED_CHUNK_LENGTH = 64


def fold(text: str) -> str:
    """Case-folded, compatibility-decomposed, accents removed (``Zoë`` → ``zoe``)."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def tokens(text: str) -> list[str]:
    """The folded word tokens of ``text`` (letters and digits of any script)."""
    return [token[:MAX_TERM_LENGTH] for token in _WORD.findall(fold(text))]


def entity_terms(label: str, attributes: dict[str, Any]) -> set[str]:
    """Distinct terms for an entity: label tokens plus the searchable attributes' tokens."""
    # One fold and split of the texts joined by a space yields the same tokens as one per
    # text (the space separates tokens; folding is per character) at a sixth of the calls.
    texts = [label]
    for name, value in attributes.items():  # fewer than the searchable names, usually
        if name in _SEARCHABLE and isinstance(value, str):
            texts.append(value)
    terms = set(_words(" ".join(texts)))
    for term in terms:
        if len(term) > MAX_TERM_LENGTH:  # rare: cut only when needed
            return {term[:MAX_TERM_LENGTH] for term in terms}
    return terms


def _words(text: str) -> list[str]:
    """``_WORD.findall(fold(text))``, uncut: what `entity_terms` splits a text into."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_WORDS).decode("ascii").split()
    words: list[str] = []
    for chunk in text.split():
        found = _CHUNK_TOKENS.get(chunk)
        if found is None:
            found = _WORD.findall(fold(chunk))
            if len(chunk) <= _CACHED_CHUNK_LENGTH:
                if len(_CHUNK_TOKENS) >= _CHUNK_TOKENS_MAX:
                    _CHUNK_TOKENS.clear()
                _CHUNK_TOKENS[chunk] = found
        words += found
    return words


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)
