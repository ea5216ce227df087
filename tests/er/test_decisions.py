from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from intelgraph.er.engine.decisions import Decision, Thresholds, decide, decide_all


def test_default_thresholds_are_point_nine_and_point_six() -> None:
    assert Thresholds() == Thresholds(auto_merge=0.9, review=0.6)


@pytest.mark.parametrize(
    ("probability", "expected"),
    [
        (0.95, Decision.AUTO_MERGE),
        (0.9, Decision.AUTO_MERGE),
        (0.8999, Decision.REVIEW),
        (0.6, Decision.REVIEW),
        (0.5999, Decision.NO_MATCH),
        (0.0, Decision.NO_MATCH),
    ],
)
def test_probability_bands_decide_inclusively_at_each_threshold(
    probability: float, expected: Decision
) -> None:
    assert decide(probability, Thresholds()) is expected
    assert decide_all(np.asarray([probability]), Thresholds())[0] is expected


def test_review_above_auto_merge_is_refused() -> None:
    with pytest.raises(ValidationError, match="above auto_merge"):
        Thresholds(auto_merge=0.7, review=0.8)


def test_thresholds_round_trip_through_json() -> None:
    thresholds = Thresholds(auto_merge=0.97, review=0.5)
    assert Thresholds.model_validate_json(thresholds.model_dump_json()) == thresholds
