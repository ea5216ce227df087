"""Fellegi-Sunter scoring: match weights from m/u per comparison level, and explanations.

For each comparison level, ``m`` is the probability of the level among true matches and
``u`` among non-matches; its match weight is ``log2(m / u)``. A pair's match weight is the
prior weight ``log2(prior / (1 - prior))`` plus the weights of its levels (the ``null``
level, a missing value, weighs 0), and its match probability is ``2^w / (1 + 2^w)``.

With term-frequency adjustment, an exact agreement on a common value (a frequent surname)
weighs less than one on a rare value: the level's ``u`` is replaced by the value's share of
the population, ``log2(m / tf(value))``.

A trained ``MatchModel`` is plain data: it round-trips through JSON.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Self

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from intelgraph.er.engine.comparisons import (
    NULL_LEVEL,
    GammaMatrix,
    IndexArray,
    PairView,
    compare_view,
    pair_view,
)
from intelgraph.er.engine.config import ResolutionConfig, comparison_fingerprint, config_fingerprint
from intelgraph.er.engine.preparation import PreparedRecords, prepare, source_of
from intelgraph.er.engine.records import Record
from intelgraph.kernel.errors import VALIDATION, IntelGraphError

FloatArray = npt.NDArray[np.float64]

MODEL_SCHEMA_VERSION = 1


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LevelParameters(_Data):
    """m and u of one comparison level."""

    label: str
    m: float = Field(gt=0.0, le=1.0)
    u: float = Field(gt=0.0, le=1.0)

    @property
    def match_weight(self) -> float:
        return math.log2(self.m / self.u)


class ComparisonParameters(_Data):
    """The levels of one comparison, in config order (the null level is implicit)."""

    name: str
    levels: list[LevelParameters] = Field(min_length=2)
    term_frequency: bool = False
    tf_level: int | None = None


class EMSessionSummary(_Data):
    """One expectation-maximisation run over the pairs of one training blocking rule."""

    rule: str
    pair_count: int
    iterations: int
    converged: bool
    estimated: list[str]


class TrainingSummary(_Data):
    """How a model was trained, for audit and for comparing runs."""

    trained_at: datetime
    record_count: int
    u_pair_count: int
    em_sessions: list[EMSessionSummary]
    not_estimated: list[str] = []
    prior_candidate_count: int = 0


class MatchModel(_Data):
    """A trained Fellegi-Sunter model for one config: prior and m/u per comparison level."""

    schema_version: Literal[1] = 1
    model_version: str = ""
    entity_type: str
    config_version: str
    config_fingerprint: str
    comparison_fingerprint: str
    prior: float = Field(gt=0.0, lt=1.0)
    comparisons: list[ComparisonParameters]
    training: TrainingSummary | None = None

    @model_validator(mode="after")
    def _version_is_content_hash(self) -> Self:
        expected = self.content_version()
        if not self.model_version:
            object.__setattr__(self, "model_version", expected)
        elif self.model_version != expected:
            raise ValueError("model_version does not match the model's parameters")
        return self

    def content_version(self) -> str:
        """``fs1-`` and a hash of everything that changes scores (not the training log)."""
        payload = self.model_dump(mode="json", exclude={"model_version", "training"})
        digest = hashlib.sha256(
            json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()
        return f"fs{MODEL_SCHEMA_VERSION}-{digest[:16]}"

    @property
    def prior_weight(self) -> float:
        return math.log2(self.prior / (1.0 - self.prior))

    def to_json(self) -> str:
        """The model as JSON text (what the store persists)."""
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str | bytes) -> MatchModel:
        """A model from JSON written by ``to_json``; raises VALIDATION if it is not one."""
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'model'}: {e['msg']}"
                for e in exc.errors(include_url=False)
            )
            raise IntelGraphError(VALIDATION, f"not a valid match model: {problems}") from None

    def check_fits(self, config: ResolutionConfig) -> None:
        """Raise VALIDATION unless the model was trained for ``config``'s comparisons.

        Blocking rules and training settings may differ; anything that changes how a pair
        gets its levels (attributes, normalisation, swaps, comparisons) may not.
        """
        if comparison_fingerprint(config) != self.comparison_fingerprint:
            raise IntelGraphError(
                VALIDATION,
                f"model {self.model_version} (config {self.config_version}) does not fit "
                f"config {config.version!r}: its attributes, normalisation or comparisons "
                "differ; retrain the model",
            )

    def weight_tables(self) -> list[FloatArray]:
        """Per comparison, match weight by ``level + 1`` (index 0 is the null level)."""
        return [
            np.asarray([0.0, *(lvl.match_weight for lvl in c.levels)]) for c in self.comparisons
        ]


def new_model(
    config: ResolutionConfig,
    prior: float,
    m: Sequence[Sequence[float]],
    u: Sequence[Sequence[float]],
    training: TrainingSummary | None = None,
) -> MatchModel:
    """A model for ``config`` with the given prior and m/u per comparison level."""
    comparisons = [
        ComparisonParameters(
            name=spec.name,
            levels=[
                LevelParameters(label=level.label, m=float(mk), u=float(uk))
                for level, mk, uk in zip(spec.levels, m_levels, u_levels, strict=True)
            ],
            term_frequency=spec.term_frequency,
            tf_level=spec.exact_level_index if spec.term_frequency else None,
        )
        for spec, m_levels, u_levels in zip(config.comparisons, m, u, strict=True)
    ]
    return MatchModel(
        entity_type=config.entity_type,
        config_version=config.version,
        config_fingerprint=config_fingerprint(config),
        comparison_fingerprint=comparison_fingerprint(config),
        prior=prior,
        comparisons=comparisons,
        training=training,
    )


@dataclass
class TermFrequencies:
    """How often each value occurs, per term-frequency comparison, in a population."""

    counts: dict[str, Counter[str]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)

    def share(self, comparison: str, values: Sequence[str]) -> FloatArray:
        """Each value's share of the population (at least one occurrence is assumed)."""
        counts = self.counts.get(comparison, Counter())
        total = max(self.totals.get(comparison, 0), 1)
        shares = np.fromiter(
            (counts.get(v, 1) for v in values), dtype=np.float64, count=len(values)
        )
        return np.asarray(shares / total)

    def add(self, prepared: PreparedRecords, rows: IndexArray | None = None) -> None:
        """Count the values of ``rows`` of ``prepared`` (all rows if None) in."""
        for spec in prepared.config.comparisons:
            if not spec.term_frequency:
                continue
            column = prepared.feature(source_of(spec.fields))
            values = [v for v in (column if rows is None else column[rows]).tolist() if v]
            self.counts.setdefault(spec.name, Counter()).update(values)
            self.totals[spec.name] = self.totals.get(spec.name, 0) + len(values)


def term_frequencies(prepared: PreparedRecords) -> TermFrequencies:
    """Value counts of every term-frequency comparison over the ``prepared`` records."""
    frequencies = TermFrequencies()
    frequencies.add(prepared)
    return frequencies


@dataclass(frozen=True)
class ScoredPairs:
    """Pairs of record rows with their levels, match weights and match probabilities."""

    left: IndexArray
    right: IndexArray
    gamma: GammaMatrix
    match_weight: FloatArray
    match_probability: FloatArray

    def __len__(self) -> int:
        return len(self.left)


def probability_from_weight(weight: FloatArray) -> FloatArray:
    """Match probability ``2^w / (1 + 2^w)`` of match weights, computed without overflow."""
    return np.asarray(1.0 / (1.0 + np.exp2(-np.clip(weight, -1000.0, 1000.0))))


def tf_adjustments(
    model: MatchModel, view: PairView, gamma: GammaMatrix, frequencies: TermFrequencies
) -> dict[int, FloatArray]:
    """Per term-frequency comparison column, the weight to add to each pair (0 if none)."""
    adjustments: dict[int, FloatArray] = {}
    for column, (params, spec) in enumerate(
        zip(model.comparisons, view.prepared.config.comparisons, strict=True)
    ):
        if not params.term_frequency or params.tf_level is None:
            continue
        rows = np.flatnonzero(gamma[:, column] == params.tf_level)
        adjustment = np.zeros(len(gamma), dtype=np.float64)
        if rows.size:
            values = view.left_strings(source_of(spec.fields), rows).tolist()
            shares = frequencies.share(spec.name, values)
            # The value's frequency stands in for u: log2(m/tf) instead of log2(m/u).
            adjustment[rows] = np.log2(params.levels[params.tf_level].u / shares)
        adjustments[column] = adjustment
    return adjustments


def score_gamma(model: MatchModel, gamma: GammaMatrix) -> FloatArray:
    """Match weights of gamma rows without term-frequency adjustment."""
    weights = np.full(len(gamma), model.prior_weight, dtype=np.float64)
    for column, table in enumerate(model.weight_tables()):
        weights += table[gamma[:, column].astype(np.int64) + 1]
    return weights


def score_compared(
    model: MatchModel,
    view: PairView,
    gamma: GammaMatrix,
    frequencies: TermFrequencies | None = None,
) -> ScoredPairs:
    """Score pairs already compared into ``gamma``; raises VALIDATION if model mismatches."""
    model.check_fits(view.prepared.config)
    weight = score_gamma(model, gamma)
    if frequencies is not None:
        for adjustment in tf_adjustments(model, view, gamma, frequencies).values():
            weight += adjustment
    return ScoredPairs(
        view.left_index, view.right_index, gamma, weight, probability_from_weight(weight)
    )


def score_pairs(
    model: MatchModel,
    prepared: PreparedRecords,
    left: IndexArray,
    right: IndexArray,
    frequencies: TermFrequencies | None = None,
) -> ScoredPairs:
    """Compare and score pairs ``(left[i], right[i])``; raises VALIDATION if model mismatches."""
    model.check_fits(prepared.config)
    view = pair_view(prepared, left, right)
    return score_compared(model, view, compare_view(view, prepared.config), frequencies)


@dataclass(frozen=True, slots=True)
class ComparisonExplanation:
    """How one comparison voted on a pair."""

    comparison: str
    level: str
    match_weight: float
    m: float | None
    u: float | None
    tf_adjustment: float = 0.0


@dataclass(frozen=True, slots=True)
class PairExplanation:
    """Why a pair scored what it did: prior plus one vote per comparison."""

    left_id: str
    right_id: str
    prior_weight: float
    comparisons: tuple[ComparisonExplanation, ...]
    match_weight: float
    match_probability: float


def explain_rows(
    model: MatchModel,
    prepared: PreparedRecords,
    left: int,
    right: int,
    frequencies: TermFrequencies | None = None,
) -> PairExplanation:
    """The explanation of the pair of rows ``left``, ``right`` of ``prepared``."""
    model.check_fits(prepared.config)
    view = pair_view(
        prepared, np.asarray([left], dtype=np.int64), np.asarray([right], dtype=np.int64)
    )
    gamma = compare_view(view, prepared.config)
    adjustments = tf_adjustments(model, view, gamma, frequencies) if frequencies is not None else {}
    parts: list[ComparisonExplanation] = []
    for column, params in enumerate(model.comparisons):
        level = int(gamma[0, column])
        if level == NULL_LEVEL:
            parts.append(ComparisonExplanation(params.name, "null", 0.0, None, None))
            continue
        lvl = params.levels[level]
        adjustment = float(adjustments[column][0]) if column in adjustments else 0.0
        parts.append(
            ComparisonExplanation(
                params.name, lvl.label, lvl.match_weight + adjustment, lvl.m, lvl.u, adjustment
            )
        )
    total = model.prior_weight + sum(p.match_weight for p in parts)
    return PairExplanation(
        prepared.record_ids[left],
        prepared.record_ids[right],
        model.prior_weight,
        tuple(parts),
        total,
        float(probability_from_weight(np.asarray([total]))[0]),
    )


def explain(
    model: MatchModel,
    config: ResolutionConfig,
    left: Record,
    right: Record,
    frequencies: TermFrequencies | None = None,
) -> PairExplanation:
    """Each comparison's level label and weight for two records, with the total.

    Raises VALIDATION if the records are not of the config's entity type, share an id, or
    the model does not fit the config.
    """
    prepared = prepare([left, right], config)
    return explain_rows(model, prepared, 0, 1, frequencies)
