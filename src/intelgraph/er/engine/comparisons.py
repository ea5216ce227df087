"""Comparisons evaluated on pairs: each pair gets one level per comparison (its gamma vector).

A comparison's levels are tried in config order; the first level whose test holds is the
pair's level (0 = first level). A pair where either side is missing gets ``NULL_LEVEL``
(-1). Work is vectorised over all pairs at once: string metrics go through rapidfuzz's
multi-threaded ``cpdist`` and are computed once per comparison, only for pairs that no
earlier, cheaper level has claimed.

Given name / surname written the other way round are handled by ``swappable`` field pairs:
when the crossed names agree better than the straight ones, the right record's two fields
are read crossed for that pair.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz
from rapidfuzz.distance import DamerauLevenshtein, Jaro, JaroWinkler, Levenshtein
from rapidfuzz.process import cpdist

from intelgraph.er.engine.config import ComparisonSpec, LevelSpec, LevelTest, ResolutionConfig
from intelgraph.er.engine.preparation import FeatureArray, PreparedRecords, source_of

NULL_LEVEL = -1

IndexArray = npt.NDArray[np.int64]
GammaMatrix = npt.NDArray[np.int8]
BoolArray = npt.NDArray[np.bool_]

# A crossed reading must beat the straight one by this much summed Jaro-Winkler to count.
_SWAP_MARGIN = 0.1
# String metrics run per distinct value pair when those are under this share of pairs.
_DEDUPLICATE_BELOW = 0.7
_PAIR_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


_SIMILARITY: dict[LevelTest, Callable[..., float]] = {
    LevelTest.JARO_WINKLER: JaroWinkler.normalized_similarity,
    LevelTest.JARO: Jaro.normalized_similarity,
    LevelTest.TOKEN_SET: fuzz.token_set_ratio,
}
_SIMILARITY_SCALE: dict[LevelTest, float] = {
    LevelTest.JARO_WINKLER: 1.0,
    LevelTest.JARO: 1.0,
    LevelTest.TOKEN_SET: 100.0,
}
_DISTANCE: dict[LevelTest, Callable[..., int]] = {
    LevelTest.LEVENSHTEIN: Levenshtein.distance,
    LevelTest.DAMERAU_LEVENSHTEIN: DamerauLevenshtein.distance,
}


def similarity(
    test: LevelTest, left: FeatureArray, right: FeatureArray, cutoff: float = 0.0
) -> npt.NDArray[np.float64]:
    """Pairwise similarity in [0, 1] of two equal-length string arrays (0 below cutoff)."""
    if len(left) == 0:
        return np.zeros(0, dtype=np.float64)
    scale = _SIMILARITY_SCALE[test]
    scores = cpdist(
        left,
        right,
        scorer=_SIMILARITY[test],
        score_cutoff=cutoff * scale,
        dtype=np.float64,
        workers=-1,
    )
    return np.asarray(scores, dtype=np.float64) / scale


def distance(
    test: LevelTest, left: FeatureArray, right: FeatureArray, cutoff: int
) -> npt.NDArray[np.int64]:
    """Pairwise edit distance of two equal-length string arrays (cutoff + 1 beyond it)."""
    if len(left) == 0:
        return np.zeros(0, dtype=np.int64)
    scores = cpdist(
        left, right, scorer=_DISTANCE[test], score_cutoff=cutoff, dtype=np.int64, workers=-1
    )
    return np.asarray(scores, dtype=np.int64)


@dataclass
class PairView:
    """The left and right record of each pair, with features gathered on demand.

    Codes and numeric features are gathered for all pairs and cached; strings (for string
    metrics) only for the pairs that need them. Where a swappable field pair reads better
    crossed, the right record's features of those fields are read crossed.
    """

    prepared: PreparedRecords
    left_index: IndexArray
    right_index: IndexArray
    crossed: dict[str, tuple[str, BoolArray]] = field(default_factory=dict)
    _cache: dict[tuple[str, str, str], npt.NDArray[Any]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.left_index)

    def _column(self, source: str, name: str, *, codes: bool) -> npt.NDArray[Any]:
        if codes:
            return self.prepared.codes(source, name)
        return self.prepared.feature(source, name)

    def left(self, source: str, name: str = "value", *, codes: bool = True) -> npt.NDArray[Any]:
        """Codes (or numeric values) of ``source``'s feature for the left record of each pair."""
        key = ("l" + "c" * codes, source, name)
        column = self._cache.get(key)
        if column is None:
            column = self._column(source, name, codes=codes)[self.left_index]
            self._cache[key] = column
        return column

    def right(self, source: str, name: str = "value", *, codes: bool = True) -> npt.NDArray[Any]:
        """Codes (or numeric values) of the right record of each pair, crossed where swapped."""
        key = ("r" + "c" * codes, source, name)
        column = self._cache.get(key)
        if column is None:
            column = self._column(source, name, codes=codes)[self.right_index]
            if source in self.crossed:
                partner, mask = self.crossed[source]
                partner_column = self._column(partner, name, codes=codes)[self.right_index]
                column = np.where(mask, partner_column, column)
            self._cache[key] = column
        return column

    def left_strings(self, source: str, rows: IndexArray, name: str = "value") -> FeatureArray:
        """Strings of the left records of pairs ``rows``."""
        return self.prepared.feature(source, name)[self.left_index[rows]]

    def right_strings(self, source: str, rows: IndexArray, name: str = "value") -> FeatureArray:
        """Strings of the right records of pairs ``rows``, crossed where swapped."""
        values = self.prepared.feature(source, name)[self.right_index[rows]]
        if source in self.crossed:
            partner, mask = self.crossed[source]
            swapped = np.flatnonzero(mask[rows])
            if swapped.size:
                partner_values = self.prepared.feature(partner, name)
                values[swapped] = partner_values[self.right_index[rows[swapped]]]
        return values


def detect_swaps(view: PairView, first: str, second: str) -> BoolArray:
    """Pairs whose right record reads better with ``first`` and ``second`` crossed."""
    crossed = np.zeros(len(view), dtype=bool)
    l1, l2, r1, r2 = view.left(first), view.left(second), view.right(first), view.right(second)
    initials_cross = (view.left(first, "initial") == view.right(second, "initial")) | (
        view.left(second, "initial") == view.right(first, "initial")
    )
    straight_exact = (l1 == r1) & (l2 == r2)
    candidates = np.flatnonzero(initials_cross & ~straight_exact & (l1 != 0) & (l2 != 0))
    if candidates.size == 0:
        return crossed
    jw = LevelTest.JARO_WINKLER
    s1, s2 = view.left_strings(first, candidates), view.left_strings(second, candidates)
    t1, t2 = view.right_strings(first, candidates), view.right_strings(second, candidates)
    straight = similarity(jw, s1, t1) + similarity(jw, s2, t2)
    across = similarity(jw, s1, t2) + similarity(jw, s2, t1)
    crossed[candidates[across > straight + _SWAP_MARGIN]] = True
    return crossed


def pair_view(prepared: PreparedRecords, left: IndexArray, right: IndexArray) -> PairView:
    """A view over pairs (left[i], right[i]) with swappable fields read crossed where apt."""
    view = PairView(prepared, left, right)
    for first, second in prepared.config.swappable:
        mask = detect_swaps(view, first, second)
        if mask.any():
            view.crossed[first] = (second, mask)
            view.crossed[second] = (first, mask)
            view._cache.clear()
    return view


class _LevelEvaluator:
    """Evaluates one comparison's level tests, sharing each string metric between levels."""

    def __init__(self, spec: ComparisonSpec, view: PairView) -> None:
        self.spec = spec
        self.view = view
        self.source = source_of(spec.fields)
        self.lv = view.left(self.source)
        self.rv = view.right(self.source)
        self._metrics: dict[LevelTest, npt.NDArray[np.float64]] = {}

    def _metric(self, test: LevelTest, pending: IndexArray) -> npt.NDArray[np.float64]:
        """The metric for ``pending`` pairs, computed on first request for those pairs.

        Values repeat (many pairs compare "john" with "james"), so when distinct value
        pairs are markedly fewer than pairs, the metric runs once per distinct pair.
        """
        values = self._metrics.get(test)
        if values is None:
            values = np.full(len(self.lv), np.nan)
            rows, expand = pending, None
            with np.errstate(over="ignore"):
                keys = self.lv[pending].view(np.uint64) * _PAIR_MULTIPLIER + self.rv[pending].view(
                    np.uint64
                )
            distinct, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
            if len(distinct) < _DEDUPLICATE_BELOW * len(pending):
                rows, expand = pending[first], inverse
            lv = self.view.left_strings(self.source, rows)
            rv = self.view.right_strings(self.source, rows)
            levels = [lvl for lvl in self.spec.levels if lvl.test is test]
            if test in _SIMILARITY:
                cutoff = min(lvl.at_least or 0.0 for lvl in levels)
                computed = similarity(test, lv, rv, cutoff).astype(np.float64)
            else:
                cutoff_edits = int(max(lvl.at_most or 0 for lvl in levels))
                computed = distance(test, lv, rv, cutoff_edits).astype(np.float64)
            values[pending] = computed if expand is None else computed[expand]
            self._metrics[test] = values
        return values[pending]

    def _same(self, name: str, pending: IndexArray) -> BoolArray:
        left = self.view.left(self.source, name)[pending]
        return np.asarray((left == self.view.right(self.source, name)[pending]) & (left != 0))

    def _numbers(self, name: str, pending: IndexArray) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        view, source = self.view, self.source
        return (
            view.left(source, name, codes=False)[pending],
            view.right(source, name, codes=False)[pending],
        )

    def holds(self, level: LevelSpec, pending: IndexArray) -> BoolArray:
        """Whether ``level``'s test holds for each of the ``pending`` pairs."""
        test = level.test
        if test is LevelTest.EXACT:
            return np.asarray(self.lv[pending] == self.rv[pending])
        if test in _SIMILARITY:
            return np.asarray(self._metric(test, pending) >= (level.at_least or 0.0))
        if test in _DISTANCE:
            return np.asarray(self._metric(test, pending) <= (level.at_most or 0.0))
        if test is LevelTest.COMPACT_EXACT:
            return self._same("compact", pending)
        if test is LevelTest.PHONETIC:
            return self._same(f"phonetic:{level.phonetic_algorithm.value}", pending)
        if test is LevelTest.NICKNAME:
            return self._same("nickname", pending)
        if test is LevelTest.INITIAL:
            left, right = self._numbers("is_initial", pending)
            return np.asarray(self._same("initial", pending) & (left | right))
        if test in (LevelTest.DATE_TRANSPOSED, LevelTest.DATE_YEAR_WITHIN):
            ly, ry = self._numbers("year", pending)
            known = (ly > 0) & (ry > 0)
            if test is LevelTest.DATE_YEAR_WITHIN:
                return np.asarray(known & (np.abs(ly - ry) <= (level.at_most or 0.0)))
            lm, rm = self._numbers("month", pending)
            ld, rd = self._numbers("day", pending)
            return np.asarray(known & (ly == ry) & (lm == rd) & (ld == rm) & (lm != ld))
        if test is LevelTest.DATE_WITHIN_DAYS:
            lo, ro = self._numbers("ordinal", pending)
            return np.asarray((lo >= 0) & (ro >= 0) & (np.abs(lo - ro) <= (level.at_most or 0.0)))
        if test in (LevelTest.NUMERIC_WITHIN, LevelTest.NUMERIC_RELATIVE_WITHIN):
            ln, rn = self._numbers("number", pending)
            gap = np.abs(ln - rn)
            if test is LevelTest.NUMERIC_RELATIVE_WITHIN:
                gap = gap / np.maximum(np.maximum(np.abs(ln), np.abs(rn)), 1e-12)
            with np.errstate(invalid="ignore"):
                return np.asarray(gap <= (level.at_most or 0.0))
        return np.ones(len(pending), dtype=bool)


def comparison_levels(spec: ComparisonSpec, view: PairView) -> npt.NDArray[np.int8]:
    """The level of every pair of ``view`` for comparison ``spec`` (NULL_LEVEL if missing)."""
    evaluator = _LevelEvaluator(spec, view)
    gamma = np.full(len(view), NULL_LEVEL, dtype=np.int8)
    pending = np.flatnonzero((evaluator.lv != 0) & (evaluator.rv != 0))
    for index, level in enumerate(spec.levels):
        if pending.size == 0:
            break
        if level.test is LevelTest.ELSE:
            gamma[pending] = index
            break
        hit = evaluator.holds(level, pending)
        gamma[pending[hit]] = index
        pending = pending[~hit]
    return gamma


def compare_view(view: PairView, config: ResolutionConfig) -> GammaMatrix:
    """The gamma matrix (pairs x comparisons) of the pairs of ``view``."""
    gamma = np.empty((len(view), len(config.comparisons)), dtype=np.int8)
    for column, spec in enumerate(config.comparisons):
        gamma[:, column] = comparison_levels(spec, view)
    return gamma


def compare_pairs(prepared: PreparedRecords, left: IndexArray, right: IndexArray) -> GammaMatrix:
    """The gamma matrix of pairs ``(left[i], right[i])`` of ``prepared`` records."""
    return compare_view(pair_view(prepared, left, right), prepared.config)
