"""Resolution configs as data: attributes, comparisons, blocking rules and training settings.

A config is YAML or JSON validated by pydantic. A bad config is refused with
``IntelGraphError(VALIDATION)`` whose message names every problem by its place in the file
(``comparisons[surname].levels[2]: ...``). The packaged defaults (PERSON, ORGANIZATION)
live in ``er/configs/``; a config for any other entity type declares its own attribute
names, and a tenant admin stores it for the tenant (``er/type_configs.py``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Self

import phonenumbers
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from intelgraph.er.engine.normalisation import AttributeKind, NormalisationOptions
from intelgraph.er.engine.records import (
    ATTRIBUTE_NAME_PATTERN,
    ENTITY_TYPE_PATTERN,
    EntityType,
    canonical_attributes_of,
    parse_entity_type,
)
from intelgraph.kernel.errors import VALIDATION, IntelGraphError


class LevelTest(StrEnum):
    """The test a comparison level applies to a pair of normalised values."""

    EXACT = "exact"
    JARO_WINKLER = "jaro_winkler"
    JARO = "jaro"
    LEVENSHTEIN = "levenshtein"
    DAMERAU_LEVENSHTEIN = "damerau_levenshtein"
    TOKEN_SET = "token_set"
    COMPACT_EXACT = "compact_exact"
    PHONETIC = "phonetic"
    NICKNAME = "nickname"
    INITIAL = "initial"
    DATE_TRANSPOSED = "date_transposed"
    DATE_WITHIN_DAYS = "date_within_days"
    DATE_YEAR_WITHIN = "date_year_within"
    NUMERIC_WITHIN = "numeric_within"
    NUMERIC_RELATIVE_WITHIN = "numeric_relative_within"
    ELSE = "else"


class PhoneticAlgorithm(StrEnum):
    """Phonetic codes from jellyfish; metaphone is the default for ``phonetic`` levels."""

    METAPHONE = "metaphone"
    SOUNDEX = "soundex"
    NYSIIS = "nysiis"


class KeyTransform(StrEnum):
    """How a blocking key part is derived from normalised attribute values."""

    EXACT = "exact"
    PREFIX = "prefix"
    COMPACT = "compact"
    SOUNDEX = "soundex"
    METAPHONE = "metaphone"
    NYSIIS = "nysiis"
    YEAR = "year"
    YEAR_MONTH = "year_month"
    TOKENS = "tokens"
    SORTED_TOKENS = "sorted_tokens"
    UNORDERED = "unordered"


SIMILARITY_TESTS = frozenset({LevelTest.JARO_WINKLER, LevelTest.JARO, LevelTest.TOKEN_SET})
DISTANCE_TESTS = frozenset(
    {
        LevelTest.LEVENSHTEIN,
        LevelTest.DAMERAU_LEVENSHTEIN,
        LevelTest.DATE_WITHIN_DAYS,
        LevelTest.DATE_YEAR_WITHIN,
        LevelTest.NUMERIC_WITHIN,
        LevelTest.NUMERIC_RELATIVE_WITHIN,
    }
)

_ALL_KINDS = frozenset(AttributeKind)
_STRING_KINDS = _ALL_KINDS - {AttributeKind.NUMBER}
_WORD_KINDS = frozenset({AttributeKind.TEXT, AttributeKind.NAME, AttributeKind.ORGANIZATION_NAME})

TEST_KINDS: Mapping[LevelTest, frozenset[AttributeKind]] = {
    LevelTest.EXACT: _ALL_KINDS,
    LevelTest.ELSE: _ALL_KINDS,
    LevelTest.JARO_WINKLER: _STRING_KINDS,
    LevelTest.JARO: _STRING_KINDS,
    LevelTest.LEVENSHTEIN: _STRING_KINDS,
    LevelTest.DAMERAU_LEVENSHTEIN: _STRING_KINDS,
    LevelTest.TOKEN_SET: _STRING_KINDS,
    LevelTest.COMPACT_EXACT: _WORD_KINDS | {AttributeKind.ADDRESS},
    LevelTest.PHONETIC: _WORD_KINDS,
    LevelTest.NICKNAME: frozenset({AttributeKind.NAME}),
    LevelTest.INITIAL: frozenset({AttributeKind.NAME}),
    LevelTest.DATE_TRANSPOSED: frozenset({AttributeKind.DATE}),
    LevelTest.DATE_WITHIN_DAYS: frozenset({AttributeKind.DATE}),
    LevelTest.DATE_YEAR_WITHIN: frozenset({AttributeKind.DATE}),
    LevelTest.NUMERIC_WITHIN: frozenset({AttributeKind.NUMBER}),
    LevelTest.NUMERIC_RELATIVE_WITHIN: frozenset({AttributeKind.NUMBER}),
}

TRANSFORM_KINDS: Mapping[KeyTransform, frozenset[AttributeKind]] = {
    KeyTransform.EXACT: _ALL_KINDS,
    KeyTransform.PREFIX: _STRING_KINDS,
    KeyTransform.COMPACT: _STRING_KINDS,
    KeyTransform.SOUNDEX: _WORD_KINDS,
    KeyTransform.METAPHONE: _WORD_KINDS,
    KeyTransform.NYSIIS: _WORD_KINDS,
    KeyTransform.YEAR: frozenset({AttributeKind.DATE}),
    KeyTransform.YEAR_MONTH: frozenset({AttributeKind.DATE}),
    KeyTransform.TOKENS: _STRING_KINDS,
    KeyTransform.SORTED_TOKENS: _STRING_KINDS,
    KeyTransform.UNORDERED: _STRING_KINDS,
}

NULL_LEVEL_LABEL = "null"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class LevelSpec(_Spec):
    """One level of a comparison: the first level whose test holds is the pair's level."""

    label: str = Field(min_length=1, max_length=64)
    test: LevelTest
    at_least: float | None = None
    at_most: float | None = None
    algorithm: PhoneticAlgorithm | None = None

    @model_validator(mode="after")
    def _thresholds_fit_the_test(self) -> Self:
        if self.label == NULL_LEVEL_LABEL:
            raise ValueError(f"label {NULL_LEVEL_LABEL!r} is reserved for the missing-value level")
        if self.test in SIMILARITY_TESTS:
            if self.at_least is None or not 0.0 < self.at_least <= 1.0:
                raise ValueError(f"test {self.test} needs at_least between 0 (excluded) and 1")
        elif self.at_least is not None:
            raise ValueError(f"test {self.test} takes no at_least")
        if self.test in DISTANCE_TESTS:
            if self.at_most is None or self.at_most < 0:
                raise ValueError(f"test {self.test} needs at_most >= 0")
        elif self.at_most is not None:
            raise ValueError(f"test {self.test} takes no at_most")
        if self.algorithm is not None and self.test is not LevelTest.PHONETIC:
            raise ValueError(f"test {self.test} takes no algorithm")
        return self

    @property
    def phonetic_algorithm(self) -> PhoneticAlgorithm:
        return self.algorithm or PhoneticAlgorithm.METAPHONE


class ComparisonSpec(_Spec):
    """How one aspect of two records is compared: field(s) and ordered levels ending in else.

    Several fields are joined with a space before comparing. A pair where either side is
    missing gets the implicit ``null`` level, which carries no weight.
    """

    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
    fields: list[str] = Field(min_length=1)
    levels: list[LevelSpec] = Field(min_length=2)
    term_frequency: bool = False

    @model_validator(mode="after")
    def _levels_are_well_formed(self) -> Self:
        labels = [level.label for level in self.levels]
        duplicates = sorted({label for label in labels if labels.count(label) > 1})
        if duplicates:
            raise ValueError(f"level labels must be unique, repeated: {', '.join(duplicates)}")
        if self.levels[-1].test is not LevelTest.ELSE:
            raise ValueError("the last level must have test 'else'")
        if any(level.test is LevelTest.ELSE for level in self.levels[:-1]):
            raise ValueError("only the last level may have test 'else'")
        if self.term_frequency and self.exact_level_index is None:
            raise ValueError("term_frequency needs an 'exact' level")
        return self

    @property
    def exact_level_index(self) -> int | None:
        """Index of the first ``exact`` level, the one term frequencies adjust."""
        return next(
            (i for i, level in enumerate(self.levels) if level.test is LevelTest.EXACT), None
        )


class BlockingKeySpec(_Spec):
    """One part of a blocking key: a transform of one field (two or more for ``unordered``)."""

    fields: list[str] = Field(min_length=1)
    transform: KeyTransform = KeyTransform.EXACT
    length: int | None = Field(default=None, ge=1, le=64)

    @model_validator(mode="before")
    @classmethod
    def _single_field_shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict) and "field" in data:
            if "fields" in data:
                raise ValueError("give either field or fields, not both")
            data = {**data, "fields": [data["field"]]}
            del data["field"]
        return data

    @model_validator(mode="after")
    def _arity_fits_the_transform(self) -> Self:
        if self.transform is KeyTransform.UNORDERED:
            if len(self.fields) < 2:
                raise ValueError("transform 'unordered' needs two or more fields")
        elif len(self.fields) != 1:
            raise ValueError(f"transform {self.transform} takes exactly one field")
        if self.length is not None and self.transform is not KeyTransform.PREFIX:
            raise ValueError(f"transform {self.transform} takes no length")
        return self

    @property
    def prefix_length(self) -> int:
        return self.length or 1


class BlockingRuleSpec(_Spec):
    """Records whose key parts are all present and all equal become candidate pairs.

    Blocks larger than ``max_block_size`` are skipped (a key shared by that many records is
    not discriminating); the number skipped is reported with the candidates.
    """

    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
    keys: list[BlockingKeySpec] = Field(min_length=1)
    max_block_size: int = Field(default=500, ge=2)


class TrainingSpec(_Spec):
    """Unsupervised training: u from random pairs, m by EM over pairs of each EM rule."""

    em_blocking: list[BlockingRuleSpec] = Field(min_length=1)
    u_max_pairs: int = Field(default=100_000, ge=1_000)
    max_iterations: int = Field(default=25, ge=1, le=1_000)
    tolerance: float = Field(default=1e-4, gt=0)
    seed: int = 42


class NormalisationSpec(_Spec):
    """Origin-dependent normalisation: phone region, date order, Gmail address rules."""

    phone_region: str = "US"
    day_first: bool = True
    gmail_canonical: bool = True

    @model_validator(mode="after")
    def _region_is_known(self) -> Self:
        if self.phone_region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(
                f"phone_region {self.phone_region!r} is not an ISO 3166 region "
                "known to libphonenumber (e.g. 'GB', 'US', 'AU')"
            )
        return self

    def options(self) -> NormalisationOptions:
        """The options the normalisers take."""
        return NormalisationOptions(self.phone_region, self.day_first, self.gmail_canonical)


class ResolutionConfig(_Spec):
    """Everything that defines how records of one entity type are resolved."""

    entity_type: str
    version: str = Field(min_length=1, max_length=64)
    description: str = ""
    normalisation: NormalisationSpec = NormalisationSpec()
    attributes: dict[str, AttributeKind] = Field(min_length=1)
    swappable: list[tuple[str, str]] = []
    comparisons: list[ComparisonSpec] = Field(min_length=1)
    blocking: list[BlockingRuleSpec] = Field(min_length=1)
    training: TrainingSpec

    @field_validator("entity_type", mode="before")
    @classmethod
    def _type_is_a_name(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        name = value.strip().upper()
        if not ENTITY_TYPE_PATTERN.match(name):
            raise ValueError(
                f"{value!r} is not a valid type name: use letters, digits and _ "
                "(starting with a letter, at most 24), e.g. VEHICLE"
            )
        return name

    @model_validator(mode="after")
    def _references_resolve(self) -> Self:
        problems: list[str] = []
        canonical = canonical_attributes_of(self.entity_type)
        for attribute in self.attributes:
            if canonical is not None and attribute not in canonical:
                problems.append(
                    f"attributes: {attribute!r} is not a canonical {self.entity_type} attribute "
                    f"(known: {', '.join(canonical)})"
                )
            elif canonical is None and not ATTRIBUTE_NAME_PATTERN.match(attribute):
                problems.append(
                    f"attributes: {attribute!r} is not a valid attribute name (lower-case "
                    "letters, digits and _, starting with a letter, e.g. plate_number)"
                )
        names = [c.name for c in self.comparisons]
        for name in sorted({n for n in names if names.count(n) > 1}):
            problems.append(f"comparisons: name {name!r} is used more than once")
        for comparison in self.comparisons:
            problems.extend(self._comparison_problems(comparison))
        for where, rules in (("blocking", self.blocking), ("training", self.training.em_blocking)):
            rule_names = [r.name for r in rules]
            for name in sorted({n for n in rule_names if rule_names.count(n) > 1}):
                problems.append(f"{where}: rule name {name!r} is used more than once")
            for rule in rules:
                problems.extend(self._rule_problems(where, rule))
        for first, second in self.swappable:
            place = f"swappable[{first}, {second}]"
            if first == second:
                problems.append(f"{place}: a field cannot be swapped with itself")
            missing = [f for f in (first, second) if f not in self.attributes]
            if missing:
                problems.append(f"{place}: unknown attribute(s) {', '.join(missing)}")
            elif self.attributes[first] != self.attributes[second]:
                problems.append(f"{place}: both attributes must be of the same kind")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _comparison_problems(self, comparison: ComparisonSpec) -> list[str]:
        place = f"comparisons[{comparison.name}]"
        unknown = [f for f in comparison.fields if f not in self.attributes]
        if unknown:
            return [
                f"{place}.fields: unknown attribute(s) {', '.join(unknown)} "
                f"(declared: {', '.join(self.attributes)})"
            ]
        kinds = {self.attributes[f] for f in comparison.fields}
        if len(kinds) > 1:
            return [f"{place}.fields: all fields must be of the same kind"]
        kind = kinds.pop()
        return [
            f"{place}.levels[{level.label}]: test {level.test} does not apply to {kind} attributes"
            for level in comparison.levels
            if kind not in TEST_KINDS[level.test]
        ]

    def _rule_problems(self, where: str, rule: BlockingRuleSpec) -> list[str]:
        problems: list[str] = []
        for key in rule.keys:
            place = f"{where}[{rule.name}].keys[{'+'.join(key.fields)}]"
            unknown = [f for f in key.fields if f not in self.attributes]
            if unknown:
                problems.append(f"{place}: unknown attribute(s) {', '.join(unknown)}")
                continue
            for field in key.fields:
                kind = self.attributes[field]
                if kind not in TRANSFORM_KINDS[key.transform]:
                    problems.append(
                        f"{place}: transform {key.transform} does not apply to {kind} "
                        f"attribute {field!r}"
                    )
        return problems

    def comparison(self, name: str) -> ComparisonSpec:
        """The comparison called ``name``; raises VALIDATION if there is none."""
        for comparison in self.comparisons:
            if comparison.name == name:
                return comparison
        raise IntelGraphError(VALIDATION, f"config {self.version!r} has no comparison {name!r}")

    def kind_of(self, field: str) -> AttributeKind:
        """The kind of attribute ``field`` (KeyError if the config does not declare it)."""
        return self.attributes[field]


def _location(loc: tuple[int | str, ...], data: Any) -> str:
    """A readable path like ``comparisons[surname].levels[2]`` for a pydantic error."""
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int):
            label = str(item)
            if isinstance(node, list) and 0 <= item < len(node):
                node = node[item]
                if isinstance(node, dict) and isinstance(node.get("name"), str):
                    label = node["name"]
                elif isinstance(node, dict) and isinstance(node.get("label"), str):
                    label = node["label"]
            else:
                node = None
            parts.append(f"[{label}]")
        else:
            node = node.get(item) if isinstance(node, dict) else None
            parts.append(f".{item}" if parts else item)
    return "".join(parts) or "config"


# What a choice among names is called in messages, by the key that holds it.
_CHOICE_NAMES = {
    "test": "comparator",
    "transform": "blocking transform",
    "algorithm": "phonetic algorithm",
}


def _readable(error: Mapping[str, Any]) -> str:
    """A pydantic error message in the config's words (unknown comparator 'x': use …)."""
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] != "enum":
        return message
    loc = tuple(error["loc"])
    key = loc[-1] if loc else ""
    # Under ``attributes`` the failing value is the kind of the attribute named by ``key``.
    what = "attribute kind" if "attributes" in loc else _CHOICE_NAMES.get(str(key), "value")
    expected = str(error.get("ctx", {}).get("expected", "")).replace("'", "")
    return f"unknown {what} {error.get('input')!r}: use one of {expected}"


def parse_config(data: Any, *, source: str = "config") -> ResolutionConfig:
    """A validated config from parsed YAML/JSON; raises VALIDATION naming every problem."""
    if not isinstance(data, dict):
        raise IntelGraphError(VALIDATION, f"ER config {source} must be a mapping at the top level")
    try:
        return ResolutionConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            message = _readable(error)
            loc = tuple(error["loc"])
            problems.append(f"{_location(loc, data)}: {message}" if loc else message)
        raise IntelGraphError(
            VALIDATION,
            f"invalid ER config {source}: " + "; ".join(problems),
            details={"problems": problems},
        ) from None


def parse_config_text(text: str, *, source: str = "config") -> ResolutionConfig:
    """A validated config from YAML (or JSON, a subset of YAML) text; raises VALIDATION."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise IntelGraphError(
            VALIDATION, f"ER config {source} is not valid YAML/JSON: {exc}"
        ) from None
    return parse_config(data, source=source)


def load_config(path: str | Path) -> ResolutionConfig:
    """The config in the YAML/JSON file at ``path``; raises VALIDATION if absent or invalid."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise IntelGraphError(VALIDATION, f"cannot read ER config {file}: {exc.strerror}") from None
    return parse_config_text(text, source=str(file))


def has_default_config(entity_type: str) -> bool:
    """Whether a packaged default config exists for ``entity_type`` (the built-in types)."""
    return entity_type in {t.value for t in EntityType}


@cache
def default_config(entity_type: str) -> ResolutionConfig:
    """The packaged default config for ``entity_type``.

    Raises VALIDATION for a type without one, saying how to give it a config.
    """
    kind = parse_entity_type(str(entity_type))
    if not has_default_config(kind):
        raise IntelGraphError(
            VALIDATION,
            f"no config for entity type {kind}: packaged defaults exist for "
            f"{', '.join(t.value for t in EntityType)}; give a comparisons config for {kind} "
            f"(`--config FILE`, or have a tenant admin store one with "
            f"`intelgraph er config set TENANT --type {kind} FILE`)",
        )
    return parse_config_text(
        default_config_text(kind), source=f"intelgraph/er/configs/{kind.lower()}.yaml"
    )


def default_config_text(entity_type: str) -> str:
    """The packaged default config of a built-in type as YAML text (with its comments)."""
    name = f"{entity_type.lower()}.yaml"
    return resources.files("intelgraph.er").joinpath("configs", name).read_text("utf-8")


def _sha256_of(data: Any) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def config_fingerprint(config: ResolutionConfig) -> str:
    """A sha256 of the config's canonical JSON: equal configs have equal fingerprints."""
    return _sha256_of(config.model_dump(mode="json"))


def comparison_fingerprint(config: ResolutionConfig) -> str:
    """A sha256 of what decides a pair's levels (attributes, normalisation, swaps,
    comparisons): a model fits every config with the same one, whatever its blocking."""
    return _sha256_of(
        config.model_dump(
            mode="json",
            include={"entity_type", "attributes", "normalisation", "swappable", "comparisons"},
        )
    )
