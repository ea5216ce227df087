"""Records prepared once before comparing: normalised columns and derived features.

Comparing is the hot loop of entity resolution, so everything that depends on one record
only (normalised strings, phonetic codes, parsed dates, nickname roots, blocking-key parts)
is computed here once per record, column by column, into numpy arrays. Comparisons and
blocking then gather from these columns by record index.

A *source* is one attribute, or several attributes of a comparison joined by ``+``; a
*feature* is something derived from a source (``value``, ``compact``, ``phonetic:soundex``…).
Missing strings are ``""``; missing date parts are 0 (ordinal -1); missing numbers are NaN.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import jellyfish
import numpy as np
import numpy.typing as npt
import phonenumbers

from intelgraph.er.engine.config import (
    KeyTransform,
    LevelTest,
    ResolutionConfig,
)
from intelgraph.er.engine.nicknames import nickname_root
from intelgraph.er.engine.normalisation import (
    MISSING_DATE,
    AttributeKind,
    normalise_country,
    normalise_phone,
    normalise_value,
    parse_date,
)
from intelgraph.er.engine.records import EntityType, Record, parse_entity_type
from intelgraph.kernel.errors import VALIDATION, IntelGraphError

FeatureArray = npt.NDArray[Any]

_DATE_PARTS = ("year", "month", "day", "ordinal")

_PHONETIC: dict[str, Callable[[str], str]] = {
    "soundex": jellyfish.soundex,
    "metaphone": jellyfish.metaphone,
    "nysiis": jellyfish.nysiis,
}


def source_of(fields: Sequence[str]) -> str:
    """The source name of a comparison or key over ``fields``."""
    return "+".join(fields)


def _object_array(values: list[str]) -> FeatureArray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _memoised(function: Callable[[str], str]) -> Callable[[str], str]:
    memo: dict[str, str] = {"": ""}

    def apply(value: str) -> str:
        result = memo.get(value)
        if result is None:
            result = memo[value] = function(value)
        return result

    return apply


@dataclass
class PreparedRecords:
    """Records of one entity type as feature columns, addressed by row index."""

    config: ResolutionConfig
    record_ids: list[str]
    features: dict[str, FeatureArray] = field(default_factory=dict)
    feature_codes: dict[str, npt.NDArray[np.int64]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.record_ids)

    def feature(self, source: str, name: str = "value") -> FeatureArray:
        """The column of feature ``name`` of ``source``, computed on first use."""
        key = f"{source}|{name}"
        column = self.features.get(key)
        if column is None:
            column = self.features[key] = self._derive(source, name)
        return column

    def codes(self, source: str, name: str = "value") -> npt.NDArray[np.int64]:
        """Integer codes of a string feature: equal strings, equal codes; 0 for missing.

        Codes are string hashes: cheap to compute, stable within a process, consistent
        across record sets (so an index and a new batch compare by code), never persisted.
        """
        key = f"{source}|{name}"
        codes = self.feature_codes.get(key)
        if codes is None:
            values = self.feature(source, name).tolist()
            codes = np.fromiter(
                (hash(v) if v else 0 for v in values), dtype=np.int64, count=len(values)
            )
            self.feature_codes[key] = codes
        return codes

    def _derive(self, source: str, name: str) -> FeatureArray:
        fields = source.split("+")
        if name == "value":
            if len(fields) == 1:
                raise KeyError(f"attribute {source!r} is not in config {self.config.version!r}")
            columns = [self.feature(f) for f in fields]
            joined = [" ".join(p for p in parts if p) for parts in zip(*columns, strict=True)]
            return _object_array(joined)
        if name == "unordered":
            columns = [self.feature(f) for f in fields]
            keys = [
                "\x1f".join(sorted(parts)) if all(parts) else ""
                for parts in zip(*columns, strict=True)
            ]
            return _object_array(keys)
        values: list[str] = list(self.feature(source))
        if name == "compact":
            return _object_array([v.replace(" ", "") for v in values])
        if name.startswith("prefix:"):
            length = int(name.removeprefix("prefix:"))
            return _object_array([v[:length] for v in values])
        if name.startswith("phonetic:"):
            code = _memoised(_PHONETIC[name.removeprefix("phonetic:")])
            return _object_array([code(v) for v in values])
        if name == "nickname":
            return _object_array([nickname_root(v) if v else "" for v in values])
        if name == "initial":
            return _object_array([v[:1] for v in values])
        if name == "is_initial":
            return np.fromiter((len(v) == 1 for v in values), dtype=bool, count=len(values))
        if name == "tokens":
            return _object_array([" ".join(sorted(set(v.split()))) for v in values])
        if name == "year_month":
            years, months = self.feature(source, "year"), self.feature(source, "month")
            return _object_array(
                [f"{y:04d}{m:02d}" if y and m else "" for y, m in zip(years, months, strict=True)]
            )
        if name == "number":
            return np.fromiter(
                (float(v) if v else np.nan for v in values), dtype=np.float64, count=len(values)
            )
        raise KeyError(f"unknown feature {name!r} of {source!r}")

    def concat(self, other: PreparedRecords) -> PreparedRecords:
        """Both record sets as one, rows of ``other`` after rows of ``self``."""
        merged = PreparedRecords(self.config, self.record_ids + other.record_ids)
        for key in self.features.keys() | other.features.keys():
            source, name = key.split("|", 1)
            merged.features[key] = np.concatenate(
                [self.feature(source, name), other.feature(source, name)]
            )
        for key in self.feature_codes.keys() | other.feature_codes.keys():
            source, name = key.split("|", 1)
            merged.feature_codes[key] = np.concatenate(
                [self.codes(source, name), other.codes(source, name)]
            )
        return merged


def key_feature_name(transform: KeyTransform, length: int = 1) -> str:
    """The feature a blocking key part reads."""
    match transform:
        case KeyTransform.EXACT:
            return "value"
        case KeyTransform.PREFIX:
            return f"prefix:{length}"
        case KeyTransform.SOUNDEX | KeyTransform.METAPHONE | KeyTransform.NYSIIS:
            return f"phonetic:{transform.value}"
        case KeyTransform.SORTED_TOKENS:
            return "tokens"
        case _:
            return transform.value


def required_features(config: ResolutionConfig) -> list[tuple[str, str]]:
    """Every (source, feature) that comparing or blocking under ``config`` will read."""
    needed: dict[tuple[str, str], None] = {}
    for comparison in config.comparisons:
        source = source_of(comparison.fields)
        needed[(source, "value")] = None
        for level in comparison.levels:
            for feature in _level_features(level.test, level.phonetic_algorithm.value):
                needed[(source, feature)] = None
    for pair in config.swappable:
        for attribute in pair:
            needed[(attribute, "value")] = None
            needed[(attribute, "initial")] = None
    for rule in [*config.blocking, *config.training.em_blocking]:
        for key in rule.keys:
            needed[(source_of(key.fields), key_feature_name(key.transform, key.prefix_length))] = (
                None
            )
    return list(needed)


def _level_features(test: LevelTest, algorithm: str) -> Iterable[str]:
    match test:
        case LevelTest.COMPACT_EXACT:
            return ("compact",)
        case LevelTest.PHONETIC:
            return (f"phonetic:{algorithm}",)
        case LevelTest.NICKNAME:
            return ("nickname",)
        case LevelTest.INITIAL:
            return ("initial", "is_initial")
        case LevelTest.DATE_TRANSPOSED | LevelTest.DATE_YEAR_WITHIN:
            return ("year", "month", "day")
        case LevelTest.DATE_WITHIN_DAYS:
            return ("ordinal",)
        case LevelTest.NUMERIC_WITHIN | LevelTest.NUMERIC_RELATIVE_WITHIN:
            return ("number",)
        case _:
            return ()


def _stripped(value: object) -> str | None:
    text = (value if isinstance(value, str) else str(value)).strip()
    return text or None


def _raw_values(attributes: Sequence[Mapping[str, object]], attribute: str) -> list[str | None]:
    """The stripped value of ``attribute`` in each record, None when absent or blank."""
    memo: dict[object, str | None] = {None: None}
    values: list[str | None] = []
    for raw in [a.get(attribute) for a in attributes]:
        try:
            values.append(memo[raw])
        except KeyError:
            values.append(memo.setdefault(raw, _stripped(raw)))
    return values


def check_records(records: Sequence[Record], config: ResolutionConfig) -> None:
    """Raise VALIDATION unless every record is of the config's entity type with a unique id."""
    record_ids = [r.record_id for r in records]
    if len(set(record_ids)) != len(record_ids) or not all(record_ids):
        seen: set[str] = set()
        for record_id in record_ids:
            if not record_id:
                raise IntelGraphError(VALIDATION, "a record has an empty record_id")
            if record_id in seen:
                raise IntelGraphError(VALIDATION, f"record_id {record_id!r} appears more than once")
            seen.add(record_id)
    for entity_type in {r.entity_type for r in records}:
        if parse_entity_type(entity_type) != config.entity_type:
            record = next(r for r in records if r.entity_type == entity_type)
            raise IntelGraphError(
                VALIDATION,
                f"record {record.record_id!r} is {record.entity_type}, "
                f"but config {config.version!r} resolves {config.entity_type}",
            )


def prepare(records: Sequence[Record], config: ResolutionConfig) -> PreparedRecords:
    """Normalise ``records`` and derive every feature ``config`` needs; raises VALIDATION.

    Raises VALIDATION for a record of another entity type or a repeated record id.
    """
    check_records(records, config)
    prepared = PreparedRecords(config, [r.record_id for r in records])
    options = config.normalisation.options()
    attributes = [r.attributes for r in records]
    for attribute, kind in config.attributes.items():
        raws = _raw_values(attributes, attribute)
        if kind is AttributeKind.DATE:
            _prepare_dates(prepared, attribute, raws, day_first=options.day_first)
            continue
        if kind is AttributeKind.PHONE:
            regions = _phone_regions(attributes, options.phone_region)
            prepared.features[f"{attribute}|value"] = _object_array(
                [
                    "" if raw is None else _normalised_phone(raw, region)
                    for raw, region in zip(raws, regions, strict=True)
                ]
            )
            continue
        memo: dict[str | None, str] = {None: ""}
        values: list[str] = []
        for raw in raws:
            try:
                values.append(memo[raw])
            except KeyError:
                values.append(memo.setdefault(raw, normalise_value(raw or "", kind, options)))
        prepared.features[f"{attribute}|value"] = _object_array(values)
    if config.entity_type == EntityType.PERSON:
        _derive_name_parts(prepared)
    for source, feature in required_features(config):
        if prepared.feature(source, feature).dtype == object:
            prepared.codes(source, feature)
    return prepared


def _phone_regions(attributes: Sequence[Mapping[str, object]], default: str) -> list[str]:
    """Per record, the region to read national phone numbers in: its country, if known."""
    memo: dict[object, str] = {}
    regions = []
    for raw in [a.get("country") for a in attributes]:
        region = memo.get(raw)
        if region is None:
            country = normalise_country(str(raw or "")).upper()
            region = memo[raw] = country if country in phonenumbers.SUPPORTED_REGIONS else default
        regions.append(region)
    return regions


@lru_cache(maxsize=65_536)
def _normalised_phone(raw: str, region: str) -> str:
    return normalise_phone(raw, region=region)


def _prepare_dates(
    prepared: PreparedRecords, attribute: str, raws: list[str | None], *, day_first: bool
) -> None:
    memo: dict[str, tuple[str, int, int, int, int]] = {}
    parsed: list[tuple[str, int, int, int, int]] = []
    for raw in raws:
        if raw is None:
            parsed.append(MISSING_DATE)
            continue
        value = memo.get(raw)
        if value is None:
            value = memo[raw] = parse_date(raw, day_first=day_first)
        parsed.append(value)
    texts, *parts = zip(*parsed, strict=True) if parsed else ((), (), (), (), ())
    prepared.features[f"{attribute}|value"] = _object_array(list(texts))
    for name, column in zip(_DATE_PARTS, parts, strict=True):
        prepared.features[f"{attribute}|{name}"] = np.asarray(column, dtype=np.int64)


def _derive_name_parts(prepared: PreparedRecords) -> None:
    """Fill given name and surname from the full name where both are missing, and back."""
    keys = ("given_name|value", "surname|value", "full_name|value")
    if not all(k in prepared.features for k in keys):
        return
    given, surname, full = (prepared.features[k] for k in keys)
    for i in range(len(prepared)):
        if not given[i] and not surname[i] and full[i]:
            tokens = full[i].split()
            surname[i] = tokens[-1]
            given[i] = tokens[0] if len(tokens) > 1 else ""
        elif not full[i] and (given[i] or surname[i]):
            full[i] = " ".join(p for p in (given[i], surname[i]) if p)
