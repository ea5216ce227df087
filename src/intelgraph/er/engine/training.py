"""Unsupervised training of a Fellegi-Sunter model, as Splink does it, without labels.

1. ``u`` per level from random pairs: almost all random pairs are non-matches, so the level
   shares among them estimate ``u``.
2. ``m`` per level by expectation-maximisation over the pairs of each training blocking
   rule, with ``u`` fixed. A comparison that reads a field the rule blocks on is left out of
   that session (its agreement is forced by the blocking, so it carries no information);
   each comparison's ``m`` is the mean over the sessions that estimated it.
3. The prior (probability that two random records match) by EM over the prediction
   candidates with ``m`` and ``u`` fixed: expected matches among candidates divided by all
   pairs.

A comparison no session could estimate (no data in it, or every rule blocks on it) gets
``m = u``: its levels weigh nothing, and the training summary lists it as not estimated.

EM works on distinct gamma patterns with their counts, so a session costs little more
than comparing its pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from intelgraph.er.engine.blocking import candidate_pairs
from intelgraph.er.engine.comparisons import NULL_LEVEL, GammaMatrix, compare_pairs
from intelgraph.er.engine.config import BlockingRuleSpec, LevelTest, ResolutionConfig
from intelgraph.er.engine.preparation import PreparedRecords, source_of
from intelgraph.er.engine.scoring import EMSessionSummary, MatchModel, TrainingSummary, new_model
from intelgraph.kernel.clock import Clock, SystemClock
from intelgraph.kernel.errors import VALIDATION, IntelGraphError

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.int64]

# Probabilities are kept away from 0 so that every level has a finite weight.
_FLOOR = 1e-6


def _normalised(values: FloatArray) -> FloatArray:
    values = np.maximum(values, _FLOOR)
    return np.asarray(values / values.sum())


def initial_m(level_count: int) -> FloatArray:
    """A starting m for EM: halving from the first (closest) level to ``else``."""
    return _normalised(np.asarray([0.5**i for i in range(level_count)], dtype=np.float64))


def random_pairs(n: int, max_pairs: int, rng: np.random.Generator) -> tuple[IndexArray, IndexArray]:
    """All pairs of ``n`` rows if there are at most ``max_pairs``, else a uniform sample."""
    total = n * (n - 1) // 2
    if total <= max_pairs:
        left, right = np.triu_indices(n, 1)
        return left.astype(np.int64), right.astype(np.int64)
    left = rng.integers(0, n, size=max_pairs, dtype=np.int64)
    offset = rng.integers(1, n, size=max_pairs, dtype=np.int64)
    return left, (left + offset) % n


def level_shares(gamma: GammaMatrix, level_counts: Sequence[int]) -> list[FloatArray]:
    """Per comparison, the share of each level among non-null pairs (smoothed, never 0)."""
    shares = []
    for column, count in enumerate(level_counts):
        levels = gamma[:, column]
        observed = np.bincount(levels[levels != NULL_LEVEL].astype(np.int64), minlength=count)
        # Half a pseudo-count per level: a level never seen is rare, not impossible.
        shares.append(_normalised((observed[:count] + 0.5) / (observed.sum() + 0.5 * count)))
    return shares


def exact_agreement_share(prepared: PreparedRecords, source: str) -> float | None:
    """Share of pairs of non-missing values that are equal, from value counts (exact).

    None when fewer than two values are present.
    """
    codes = prepared.codes(source)
    present = codes[codes != 0]
    n = len(present)
    if n < 2:
        return None
    _, counts = np.unique(present, return_counts=True)
    agreeing = float((counts * (counts - 1)).sum())
    # Half a pair when no two values agree: rare, not impossible.
    return max(agreeing, 1.0) / (n * (n - 1))


def estimate_u(
    prepared: PreparedRecords, max_pairs: int, rng: np.random.Generator
) -> tuple[list[FloatArray], int]:
    """u per comparison level from random pairs, and how many pairs were compared.

    When a comparison's first level is ``exact``, its u comes from value counts over all
    records instead (as if every pair were sampled); the other levels share the rest in
    the proportions seen in the sample.
    """
    left, right = random_pairs(len(prepared), max_pairs, rng)
    gamma = compare_pairs(prepared, left, right)
    specs = prepared.config.comparisons
    shares = level_shares(gamma, [len(c.levels) for c in specs])
    for column, spec in enumerate(specs):
        if spec.levels[0].test is not LevelTest.EXACT:
            continue
        exact = exact_agreement_share(prepared, source_of(spec.fields))
        if exact is None:
            continue
        rest = shares[column][1:]
        shares[column] = _normalised(np.concatenate([[exact], rest / rest.sum() * (1 - exact)]))
    return shares, len(left)


@dataclass(frozen=True)
class GammaPatterns:
    """Distinct gamma rows and how often each occurs."""

    patterns: npt.NDArray[np.int64]
    counts: FloatArray

    @classmethod
    def of(cls, gamma: GammaMatrix) -> GammaPatterns:
        if len(gamma) == 0:
            return cls(np.zeros((0, gamma.shape[1]), dtype=np.int64), np.zeros(0))
        # One integer per row (levels shifted so null is 0), then a 1-D unique: far faster
        # than np.unique(axis=0) on the matrix.
        shifted = gamma.astype(np.int64) + 1
        base = int(shifted.max()) + 1
        codes = np.zeros(len(gamma), dtype=np.int64)
        for column in range(gamma.shape[1]):
            codes = codes * base + shifted[:, column]
        unique_codes, first, counts = np.unique(codes, return_index=True, return_counts=True)
        del unique_codes
        return cls(gamma[first].astype(np.int64), counts.astype(np.float64))


@dataclass(frozen=True)
class EMResult:
    m: list[FloatArray]
    prior: float
    iterations: int
    converged: bool


def _log_likelihood(
    patterns: npt.NDArray[np.int64], tables: Sequence[FloatArray], active: Sequence[bool]
) -> FloatArray:
    total = np.zeros(len(patterns), dtype=np.float64)
    for column, (table, is_active) in enumerate(zip(tables, active, strict=True)):
        if not is_active:
            continue
        levels = patterns[:, column]
        known = levels != NULL_LEVEL
        total[known] += np.log(table[levels[known]])
    return total


def expectation_maximisation(
    data: GammaPatterns,
    m: Sequence[FloatArray],
    u: Sequence[FloatArray],
    prior: float,
    active: Sequence[bool],
    *,
    estimate_m: bool = True,
    max_iterations: int = 25,
    tolerance: float = 1e-4,
) -> EMResult:
    """EM over gamma patterns: m of active comparisons and the prior, with u held fixed."""
    m = [np.array(table, dtype=np.float64) for table in m]
    log_u = _log_likelihood(data.patterns, u, active)
    total = data.counts.sum()
    if total == 0:
        return EMResult(m, prior, 0, True)
    iterations = 0
    converged = False
    while iterations < max_iterations:
        iterations += 1
        log_m = _log_likelihood(data.patterns, m, active)
        log_odds = np.log(prior) - np.log1p(-prior) + log_m - log_u
        posterior = 1.0 / (1.0 + np.exp(-np.clip(log_odds, -700.0, 700.0)))
        weighted = posterior * data.counts
        new_prior = float(np.clip(weighted.sum() / total, _FLOOR, 1.0 - _FLOOR))
        change = abs(new_prior - prior)
        prior = new_prior
        if estimate_m:
            for column, is_active in enumerate(active):
                if not is_active:
                    continue
                levels = data.patterns[:, column]
                known = levels != NULL_LEVEL
                if not known.any() or weighted[known].sum() <= 0:
                    continue
                sums = np.bincount(levels[known], weights=weighted[known], minlength=len(m[column]))
                # Half a pseudo-match per level: a level no match showed is rare, not
                # impossible, so its weight stays finite and moderate.
                updated = _normalised((sums + 0.5) / (sums.sum() + 0.5 * len(sums)))
                change = max(change, float(np.abs(updated - m[column]).max()))
                m[column] = updated
        if change < tolerance:
            converged = True
            break
    return EMResult(m, prior, iterations, converged)


def _blocked_fields(rule: BlockingRuleSpec) -> set[str]:
    return {field for key in rule.keys for field in key.fields}


def estimate_m(
    prepared: PreparedRecords,
    u: Sequence[FloatArray],
    rules: Sequence[BlockingRuleSpec],
    *,
    max_iterations: int,
    tolerance: float,
) -> tuple[list[FloatArray], list[EMSessionSummary], list[str]]:
    """m per comparison level averaged over one EM session per rule; unestimated names."""
    config = prepared.config
    sums = [np.zeros(len(c.levels)) for c in config.comparisons]
    sessions_per_comparison = [0] * len(config.comparisons)
    summaries: list[EMSessionSummary] = []
    for rule in rules:
        pairs = candidate_pairs(prepared, [rule])
        gamma = compare_pairs(prepared, pairs.left, pairs.right)
        blocked = _blocked_fields(rule)
        active = [not (set(c.fields) & blocked) for c in config.comparisons]
        data = GammaPatterns.of(gamma)
        start = [initial_m(len(c.levels)) for c in config.comparisons]
        result = expectation_maximisation(
            data, start, u, 0.1, active, max_iterations=max_iterations, tolerance=tolerance
        )
        estimated = []
        for column, is_active in enumerate(active):
            has_data = bool((gamma[:, column] != NULL_LEVEL).any()) if len(gamma) else False
            if is_active and has_data:
                sums[column] += result.m[column]
                sessions_per_comparison[column] += 1
                estimated.append(config.comparisons[column].name)
        summaries.append(
            EMSessionSummary(
                rule=rule.name,
                pair_count=len(pairs),
                iterations=result.iterations,
                converged=result.converged,
                estimated=estimated,
            )
        )
    m: list[FloatArray] = []
    not_estimated: list[str] = []
    for column, spec in enumerate(config.comparisons):
        if sessions_per_comparison[column]:
            m.append(_normalised(sums[column] / sessions_per_comparison[column]))
        else:
            # Nothing learnt (no data, or always blocked on): m = u, every level weighs 0,
            # so the comparison neither helps nor hurts until a model is trained with it.
            m.append(np.array(u[column], dtype=np.float64))
            not_estimated.append(spec.name)
    return m, summaries, not_estimated


def estimate_prior(
    record_count: int,
    candidate_gamma: GammaMatrix,
    m: Sequence[FloatArray],
    u: Sequence[FloatArray],
    *,
    max_iterations: int,
    tolerance: float,
) -> float:
    """Probability that two random records match: expected matches among candidates / pairs."""
    all_pairs = record_count * (record_count - 1) / 2
    if not len(candidate_gamma) or all_pairs == 0:
        return 1.0 / max(all_pairs, 2.0)
    result = expectation_maximisation(
        GammaPatterns.of(candidate_gamma),
        m,
        u,
        0.1,
        [True] * len(m),
        estimate_m=False,
        max_iterations=max_iterations * 4,
        tolerance=tolerance / 100,
    )
    expected_matches = max(result.prior * len(candidate_gamma), 1.0)
    return float(np.clip(expected_matches / all_pairs, _FLOOR * _FLOOR, 0.5))


def train_model(
    prepared: PreparedRecords,
    *,
    candidate_gamma: GammaMatrix | None = None,
    clock: Clock | None = None,
) -> MatchModel:
    """A model trained on ``prepared`` records without labels; raises VALIDATION if < 2 records.

    ``candidate_gamma`` are the compared prediction candidates, used to estimate the prior
    (blocked and compared under the config's rules when not given).
    """
    config: ResolutionConfig = prepared.config
    if len(prepared) < 2:
        raise IntelGraphError(VALIDATION, "training needs at least two records")
    training = config.training
    rng = np.random.default_rng(training.seed)
    u, u_pairs = estimate_u(prepared, training.u_max_pairs, rng)
    m, sessions, not_estimated = estimate_m(
        prepared,
        u,
        training.em_blocking,
        max_iterations=training.max_iterations,
        tolerance=training.tolerance,
    )
    if candidate_gamma is None:
        candidates = candidate_pairs(prepared, config.blocking)
        candidate_gamma = compare_pairs(prepared, candidates.left, candidates.right)
    prior = estimate_prior(
        len(prepared),
        candidate_gamma,
        m,
        u,
        max_iterations=training.max_iterations,
        tolerance=training.tolerance,
    )
    summary = TrainingSummary(
        trained_at=(clock or SystemClock()).now(),
        record_count=len(prepared),
        u_pair_count=u_pairs,
        em_sessions=sessions,
        not_estimated=not_estimated,
        prior_candidate_count=len(candidate_gamma),
    )
    return new_model(config, prior, [t.tolist() for t in m], [t.tolist() for t in u], summary)
