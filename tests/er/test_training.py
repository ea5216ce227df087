"""Unsupervised training recovers sensible parameters without looking at any label."""

from __future__ import annotations

import numpy as np
import pytest

from intelgraph.er.engine.config import default_config
from intelgraph.er.engine.evaluation import true_pairs
from intelgraph.er.engine.preparation import prepare
from intelgraph.er.engine.training import (
    GammaPatterns,
    expectation_maximisation,
    initial_m,
    random_pairs,
    train_model,
)
from intelgraph.kernel.clock import ManualClock
from intelgraph.kernel.errors import IntelGraphError

from .support import HARD_PROFILE, generated_people, person


def _simulate(
    m: list[list[float]], u: list[list[float]], prior: float, n: int, seed: int
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    is_match = rng.random(n) < prior
    gamma = np.empty((n, len(m)), dtype=np.int8)
    for column, (m_k, u_k) in enumerate(zip(m, u, strict=True)):
        gamma[is_match, column] = rng.choice(len(m_k), size=int(is_match.sum()), p=m_k)
        gamma[~is_match, column] = rng.choice(len(u_k), size=int((~is_match).sum()), p=u_k)
    return gamma


def test_em_recovers_the_m_values_and_match_share_that_generated_the_data() -> None:
    m_true = [[0.85, 0.1, 0.05], [0.7, 0.2, 0.1], [0.9, 0.05, 0.05], [0.6, 0.3, 0.1]]
    u_true = [[0.02, 0.08, 0.9], [0.05, 0.1, 0.85], [0.01, 0.04, 0.95], [0.1, 0.2, 0.7]]
    gamma = _simulate(m_true, u_true, prior=0.3, n=40_000, seed=1)
    result = expectation_maximisation(
        GammaPatterns.of(gamma),
        [initial_m(3) for _ in m_true],
        [np.asarray(u) for u in u_true],
        prior=0.1,
        active=[True] * 4,
        max_iterations=200,
        tolerance=1e-7,
    )
    assert result.converged
    assert result.prior == pytest.approx(0.3, abs=0.02)
    for estimated, expected in zip(result.m, m_true, strict=True):
        assert np.allclose(estimated, expected, atol=0.03)


def test_em_leaves_inactive_comparisons_alone() -> None:
    gamma = _simulate([[0.9, 0.1], [0.8, 0.2]], [[0.1, 0.9], [0.2, 0.8]], 0.5, 5_000, seed=2)
    start = [initial_m(2), np.asarray([0.3, 0.7])]
    result = expectation_maximisation(
        GammaPatterns.of(gamma),
        start,
        [np.asarray([0.1, 0.9]), np.asarray([0.2, 0.8])],
        prior=0.2,
        active=[True, False],
    )
    assert np.array_equal(result.m[1], start[1])


def test_random_pairs_cover_all_pairs_of_a_small_set_and_sample_a_large_one() -> None:
    left, right = random_pairs(5, 100, np.random.default_rng(0))
    assert len(left) == 10 and (left < right).all()
    left, right = random_pairs(10_000, 1_000, np.random.default_rng(0))
    assert len(left) == 1_000 and (left != right).all()


@pytest.fixture(scope="module")
def trained() -> tuple:
    records, truth = generated_people(2500, seed=21, profile=HARD_PROFILE)
    prepared = prepare(records, default_config("PERSON"))
    return train_model(prepared, clock=ManualClock()), records, truth


@pytest.mark.parametrize("comparison", ["given_name", "surname", "dob", "email", "national_id"])
def test_exact_agreement_is_likely_for_matches_and_rare_for_non_matches(
    trained: tuple, comparison: str
) -> None:
    model = trained[0]
    params = next(c for c in model.comparisons if c.name == comparison)
    exact, other = params.levels[0], params.levels[-1]
    assert exact.m > 0.5
    assert exact.u < 0.02
    assert exact.match_weight > 4
    assert other.match_weight < 0


def test_the_prior_is_close_to_the_true_share_of_matching_pairs(trained: tuple) -> None:
    model, records, truth = trained
    n = len(records)
    true_prior = len(true_pairs(truth)) / (n * (n - 1) / 2)
    assert true_prior / 3 < model.prior < true_prior * 3


def test_training_is_reproducible_for_a_seed(trained: tuple) -> None:
    model, records, _ = trained
    again = train_model(prepare(records, default_config("PERSON")), clock=ManualClock())
    assert again.model_version == model.model_version


def test_the_training_summary_says_what_was_learnt_where(trained: tuple) -> None:
    summary = trained[0].training
    assert summary is not None
    assert [s.rule for s in summary.em_sessions] == ["dob", "postcode_surname_initial"]
    dob_session = summary.em_sessions[0]
    assert "dob" not in dob_session.estimated and "surname" in dob_session.estimated
    assert summary.not_estimated == []


def test_a_comparison_without_data_is_not_estimated_and_weighs_nothing() -> None:
    records, _ = generated_people(400, seed=22)
    stripped = [
        person(r.record_id, **{k: v for k, v in r.attributes.items() if k != "email"})
        for r in records
    ]
    model = train_model(prepare(stripped, default_config("PERSON")))
    assert model.training is not None and model.training.not_estimated == ["email"]
    email = next(c for c in model.comparisons if c.name == "email")
    assert all(level.match_weight == pytest.approx(0.0) for level in email.levels)


def test_training_needs_two_records() -> None:
    with pytest.raises(IntelGraphError, match="at least two records"):
        train_model(prepare([person("a", surname="Solo")], default_config("PERSON")))
