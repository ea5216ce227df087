"""Fellegi-Sunter scores: weights add up, explanations say why, models round-trip as JSON."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from intelgraph.er.engine.config import default_config, parse_config
from intelgraph.er.engine.preparation import prepare
from intelgraph.er.engine.scoring import (
    MatchModel,
    explain,
    new_model,
    probability_from_weight,
    score_pairs,
    term_frequencies,
)
from intelgraph.er.engine.training import train_model
from intelgraph.kernel.clock import ManualClock
from intelgraph.kernel.errors import IntelGraphError

from .support import generated_people, person

PERSON = default_config("PERSON")


def _hand_model(prior: float = 0.001) -> MatchModel:
    """m halves level by level; u is small for close levels and large for else."""
    m, u = [], []
    for spec in PERSON.comparisons:
        count = len(spec.levels)
        m_levels = [0.5**i for i in range(count)]
        u_levels = [0.01] * (count - 1) + [1.0]
        m.append([v / sum(m_levels) for v in m_levels])
        u.append([v / sum(u_levels) for v in u_levels])
    return new_model(PERSON, prior, m, u)


def test_the_match_weight_is_the_prior_plus_each_levels_log_ratio() -> None:
    model = _hand_model()
    left = person("a", given_name="Ada", surname="Lovelace", dob="1815-12-10")
    right = person("b", given_name="Ada", surname="Lovelace", dob="1815-12-11", city="London")
    explanation = explain(model, PERSON, left, right)
    expected = math.log2(0.001 / 0.999)
    for part, params in zip(explanation.comparisons, model.comparisons, strict=True):
        if part.level != "null":
            level = next(lvl for lvl in params.levels if lvl.label == part.level)
            assert part.match_weight == pytest.approx(math.log2(level.m / level.u))
            expected += part.match_weight
    assert explanation.match_weight == pytest.approx(expected)
    assert explanation.match_probability == pytest.approx(1 / (1 + 2**-expected))


def test_explain_names_each_comparisons_level() -> None:
    explanation = explain(
        _hand_model(),
        PERSON,
        person("a", given_name="William", surname="Lovelace", dob="1815-12-10"),
        person("b", given_name="Bill", surname="Lovelace", dob="1815-10-12"),
    )
    levels = {part.comparison: part.level for part in explanation.comparisons}
    assert levels["given_name"] == "nickname"
    assert levels["surname"] == "exact"
    assert levels["dob"] == "day_month_transposed"
    assert levels["email"] == "null"
    null_part = next(p for p in explanation.comparisons if p.comparison == "email")
    assert null_part.match_weight == 0.0 and null_part.m is None
    assert (explanation.left_id, explanation.right_id) == ("a", "b")


def test_more_agreement_means_a_higher_probability() -> None:
    model = _hand_model()
    base = {"given_name": "Ada", "surname": "Lovelace"}
    weak = explain(model, PERSON, person("a", **base), person("b", **base))
    strong = explain(
        model,
        PERSON,
        person("a", **base, dob="1815-12-10"),
        person("b", **base, dob="1815-12-10"),
    )
    assert strong.match_probability > weak.match_probability


def test_agreeing_on_a_rare_surname_counts_more_than_on_a_common_one() -> None:
    records = [person(f"s{i}", surname="Smith") for i in range(50)] + [
        person("b1", surname="Babbage"),
        person("b2", surname="Babbage"),
    ]
    prepared = prepare(records, PERSON)
    frequencies = term_frequencies(prepared)
    model = _hand_model()
    scored = score_pairs(model, prepared, np.asarray([0, 50]), np.asarray([1, 51]), frequencies)
    common, rare = scored.match_weight
    assert rare > common
    plain = score_pairs(model, prepared, np.asarray([0, 50]), np.asarray([1, 51]))
    assert plain.match_weight[0] == pytest.approx(plain.match_weight[1])


def test_explain_reports_the_term_frequency_adjustment() -> None:
    records = [person(f"s{i}", surname="Smith") for i in range(20)]
    frequencies = term_frequencies(prepare(records, PERSON))
    explanation = explain(
        _hand_model(),
        PERSON,
        person("a", surname="Smith"),
        person("b", surname="Smith"),
        frequencies,
    )
    surname = next(p for p in explanation.comparisons if p.comparison == "surname")
    assert surname.tf_adjustment == pytest.approx(math.log2(surname.u / 1.0))


def test_probability_from_weight_is_a_logistic_in_base_two() -> None:
    probabilities = probability_from_weight(np.asarray([0.0, 1.0, -1.0, 5000.0, -5000.0]))
    assert probabilities == pytest.approx([0.5, 2 / 3, 1 / 3, 1.0, 0.0])


def test_a_trained_model_round_trips_through_json() -> None:
    records, _ = generated_people(300, seed=31)
    prepared = prepare(records, PERSON)
    model = train_model(prepared, clock=ManualClock())
    text = model.to_json()
    again = MatchModel.from_json(text)
    assert again == model
    assert again.model_version == model.model_version
    assert again.model_version.startswith("fs1-")
    left, right = np.arange(0, 50), np.arange(1, 51)
    assert np.array_equal(
        score_pairs(again, prepared, left, right).match_weight,
        score_pairs(model, prepared, left, right).match_weight,
    )
    assert json.loads(text)["training"]["trained_at"] == "2026-01-01T00:00:00Z"


def test_an_edited_model_no_longer_matches_its_version_and_is_refused() -> None:
    data = json.loads(_hand_model().to_json())
    data["comparisons"][0]["levels"][0]["m"] = 0.99
    with pytest.raises(IntelGraphError, match="model_version does not match"):
        MatchModel.from_json(json.dumps(data))


def test_json_that_is_not_a_model_is_refused() -> None:
    with pytest.raises(IntelGraphError, match="not a valid match model"):
        MatchModel.from_json('{"prior": 2}')


def test_a_model_for_another_config_is_refused() -> None:
    organization_model = new_model(
        default_config("ORGANIZATION"), 0.01, _org_levels(), _org_levels()
    )
    with pytest.raises(IntelGraphError, match="does not fit"):
        explain(organization_model, PERSON, person("a"), person("b"))


def _org_levels() -> list[list[float]]:
    return [
        [1.0 / len(spec.levels)] * len(spec.levels)
        for spec in default_config("ORGANIZATION").comparisons
    ]


def test_a_model_fits_a_config_that_only_blocks_differently() -> None:
    model = _hand_model()
    data = PERSON.model_dump(mode="json")
    data["blocking"] = data["blocking"][:2]
    data["version"] = "person-v1-fewer-rules"
    model.check_fits(parse_config(data))


def test_a_model_does_not_fit_a_config_whose_levels_mean_something_else() -> None:
    model = _hand_model()
    data = PERSON.model_dump(mode="json")
    data["comparisons"][1]["levels"][1]["at_least"] = 0.97
    with pytest.raises(IntelGraphError, match="retrain the model"):
        model.check_fits(parse_config(data))
