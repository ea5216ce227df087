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

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz
from rapidfuzz.distance import DamerauLevenshtein, Jaro, JaroWinkler, Levenshtein
from rapidfuzz.process import cpdist

from intelgraph.er.config import ComparisonSpec, LevelSpec, LevelTest, ResolutionConfig
from intelgraph.er.preparation import FeatureArray, PreparedRecords, source_of

NULL_LEVEL = -1

IndexArray = npt.NDArray[np.int64]
GammaMatrix = npt.NDArray[np.int8]
BoolArray = npt.NDArray[np.bool_]

# A crossed reading must beat the straight one by this much summed Jaro-Winkler to count.
_SWAP_MARGIN = 0.1


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
    """Features of the left and right record of each pair, gathered once and cached."""

    prepared: PreparedRecords
    left_index: IndexArray
    right_index: IndexArray
    crossed: dict[str, tuple[str, BoolArray]] = field(default_factory=dict)
    _cache: dict[tuple[str, str, str], FeatureArray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.left_index)

    def left(self, source: str, name: str = "value") -> FeatureArray:
        key = ("l", source, name)
        column = self._cache.get(key)
        if column is None:
            column = self._cache[key] = self.prepared.feature(source, name)[self.left_index]
        return column

    def right(self, source: str, name: str = "value") -> FeatureArray:
        key = ("r", source, name)
        column = self._cache.get(key)
        if column is None:
            column = self.prepared.feature(source, name)[self.right_index]
            if source in self.crossed:
                partner, mask = self.crossed[source]
                partner_column = self.prepared.feature(partner, name)[self.right_index]
                column = np.where(mask, partner_column, column)
            self._cache[key] = column
        return column


def detect_swaps(view: PairView, first: str, second: str) -> BoolArray:
    """Pairs whose right record reads better with ``first`` and ``second`` crossed."""
    l1, l2 = view.left(first), view.left(second)
    r1, r2 = view.right(first), view.right(second)
    crossed = np.zeros(len(view), dtype=bool)
    initials_cross = (view.left(first, "initial") == view.right(second, "initial")) | (
        view.left(second, "initial") == view.right(first, "initial")
    )
    straight_exact = (l1 == r1) & (l2 == r2)
    candidates = np.flatnonzero(initials_cross & ~straight_exact)
    if candidates.size == 0:
        return crossed
    jw = LevelTest.JARO_WINKLER
    straight = similarity(jw, l1[candidates], r1[candidates]) + similarity(
        jw, l2[candidates], r2[candidates]
    )
    across = similarity(jw, l1[candidates], r2[candidates]) + similarity(
        jw, l2[candidates], r1[candidates]
    )
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
        """The metric for ``pending`` pairs, computed on first request for those pairs."""
        values = self._metrics.get(test)
        if values is None:
            values = np.full(len(self.lv), np.nan)
            lv, rv = self.lv[pending], self.rv[pending]
            if test in _SIMILARITY:
                cutoff = min(lvl.at_least or 0.0 for lvl in self.spec.levels if lvl.test is test)
                values[pending] = similarity(test, lv, rv, cutoff)
            else:
                cutoff = int(
                    max(lvl.at_most or 0.0 for lvl in self.spec.levels if lvl.test is test)
                )
                values[pending] = distance(test, lv, rv, cutoff)
            self._metrics[test] = values
        return values[pending]

    def holds(self, level: LevelSpec, pending: IndexArray) -> BoolArray:
        test = level.test
        view, source = self.view, self.source
        if test is LevelTest.EXACT:
            return np.asarray(self.lv[pending] == self.rv[pending], dtype=bool)
        if test in _SIMILARITY:
            return np.asarray(self._metric(test, pending) >= (level.at_least or 0.0))
        if test in _DISTANCE:
            return np.asarray(self._metric(test, pending) <= (level.at_most or 0.0))
        if test is LevelTest.COMPACT_EXACT:
            return np.asarray(
                view.left(source, "compact")[pending] == view.right(source, "compact")[pending]
            )
        if test is LevelTest.PHONETIC:
            name = f"phonetic:{level.phonetic_algorithm.value}"
            left = view.left(source, name)[pending]
            return np.asarray((left == view.right(source, name)[pending]) & (left != ""))
        if test is LevelTest.NICKNAME:
            return np.asarray(
                view.left(source, "nickname")[pending] == view.right(source, "nickname")[pending]
            )
        if test is LevelTest.INITIAL:
            same = view.left(source, "initial")[pending] == view.right(source, "initial")[pending]
            either = (
                view.left(source, "is_initial")[pending] | view.right(source, "is_initial")[pending]
            )
            return np.asarray(same & either)
        if test in (LevelTest.DATE_TRANSPOSED, LevelTest.DATE_YEAR_WITHIN):
            ly, ry = view.left(source, "year")[pending], view.right(source, "year")[pending]
            known = (ly > 0) & (ry > 0)
            if test is LevelTest.DATE_YEAR_WITHIN:
                return np.asarray(known & (np.abs(ly - ry) <= (level.at_most or 0.0)))
            lm, rm = view.left(source, "month")[pending], view.right(source, "month")[pending]
            ld, rd = view.left(source, "day")[pending], view.right(source, "day")[pending]
            return np.asarray(known & (ly == ry) & (lm == rd) & (ld == rm) & (lm != ld))
        if test is LevelTest.DATE_WITHIN_DAYS:
            lo, ro = view.left(source, "ordinal")[pending], view.right(source, "ordinal")[pending]
            return np.asarray((lo >= 0) & (ro >= 0) & (np.abs(lo - ro) <= (level.at_most or 0.0)))
        if test in (LevelTest.NUMERIC_WITHIN, LevelTest.NUMERIC_RELATIVE_WITHIN):
            ln, rn = view.left(source, "number")[pending], view.right(source, "number")[pending]
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
    pending = np.flatnonzero((evaluator.lv != "") & (evaluator.rv != ""))
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
