"""Search terms: the tokens of an entity that `searchEntities` matches by prefix.

Terms are folded to ASCII lower-case letters and digits, so a prefix range
``[t, t⁺)`` means the same under every database collation.
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
MAX_TERM_LENGTH = 64
_SPLIT = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """Lower-case ASCII with accents removed (``Zoë`` → ``zoe``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return decomposed.encode("ascii", "ignore").decode("ascii").lower()


def tokens(text: str) -> list[str]:
    """The folded alphanumeric tokens of ``text``."""
    return [token[:MAX_TERM_LENGTH] for token in _SPLIT.split(fold(text)) if token]


def entity_terms(label: str, attributes: dict[str, Any]) -> set[str]:
    """Distinct terms for an entity: label tokens plus the searchable attributes' tokens."""
    terms = set(tokens(label))
    for name in SEARCHABLE_ATTRIBUTES:
        value = attributes.get(name)
        if isinstance(value, str):
            terms.update(tokens(value))
    return terms


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)
