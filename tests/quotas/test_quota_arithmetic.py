"""Laws of the quota arithmetic, checked on many generated cases (hypothesis)."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from intelgraph.kernel.clock import ManualClock
from intelgraph.obs.metrics import Metrics
from intelgraph.quotas.decisions import QuotaDecision
from intelgraph.quotas.limiter import memory_quota_engine, seconds_to_utc_midnight
from intelgraph.quotas.windows import _Log
from intelgraph.tenants.plans import LimitName

ENGINE = memory_quota_engine(ManualClock(), Metrics())


@given(
    limit=st.integers(min_value=1, max_value=50),
    batches=st.lists(st.integers(min_value=0, max_value=120), min_size=1, max_size=15),
)
@settings(max_examples=200, deadline=None)
def test_a_second_never_admits_more_than_its_allowance_except_one_big_first_batch(
    limit: int, batches: list[int]
) -> None:
    tenant = f"ten_{secrets.token_hex(6)}"
    used = 0
    for records in batches:
        decision = ENGINE.charge_ingest(tenant, records, limit)
        fits = used + min(records, limit) <= limit
        if records > limit:
            fits = used == 0
        assert decision.is_allowed == fits
        if decision.is_allowed:
            used += min(records, limit)
        assert used <= limit
        assert decision.remaining == limit - used
        if not decision.is_allowed:
            assert decision.retry_after_seconds == 1


@given(
    limit=st.sampled_from(list(LimitName)),
    quota=st.integers(min_value=1, max_value=10**15),
    remaining=st.integers(min_value=0, max_value=10**15),
    reset=st.integers(min_value=0, max_value=86_400),
    is_allowed=st.booleans(),
)
def test_ratelimit_headers_state_the_decision_exactly(
    limit: LimitName, quota: int, remaining: int, reset: int, is_allowed: bool
) -> None:
    decision = QuotaDecision(limit, is_allowed, quota, remaining, reset)
    headers = decision.headers()

    policy = re.fullmatch(
        r'"(\w+)";q=(\d+);w=(\d+)(;qu="content-bytes")?', headers["RateLimit-Policy"]
    )
    state = re.fullmatch(r'"(\w+)";r=(\d+);t=(\d+)', headers["RateLimit"])
    assert policy is not None and state is not None
    assert policy.group(1) == state.group(1) == limit.value
    assert int(policy.group(2)) == quota and int(policy.group(3)) == decision.window_seconds
    assert (int(state.group(2)), int(state.group(3))) == (remaining, reset)
    if is_allowed:
        assert "Retry-After" not in headers
    else:
        assert int(headers["Retry-After"]) == max(1, reset) >= 1


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.timezones()
    )
)
def test_retry_after_for_egress_lands_on_the_next_utc_midnight(moment: datetime) -> None:
    seconds = seconds_to_utc_midnight(moment)

    assert 1 <= seconds <= 86_400
    landing = moment.astimezone(UTC) + timedelta(seconds=seconds)
    assert landing.date() > moment.astimezone(UTC).date()
    assert landing - timedelta(seconds=1) < datetime.combine(
        landing.date(), datetime.min.time(), UTC
    )


def test_an_admitted_charge_never_reports_a_reset_longer_than_its_window() -> None:
    # (t + 60) - t is 60 plus float rounding for many t; rounded up that said "t=61" in a
    # 60 s window (seen in CI). Pick such a t and charge at exactly it.
    t = next(k / 10 for k in range(1, 100_000) if (k / 10 + 60.0) - k / 10 > 60.0)
    state = _Log().charge(t, 60.0, 10, 1)
    assert state.is_acquired and state.reset_seconds() == 60


def test_a_refused_charge_never_reports_a_reset_longer_than_its_window() -> None:
    t = next(k / 10 for k in range(1, 100_000) if (k / 10 + 60.0) - k / 10 > 60.0)
    log = _Log()
    log.charge(t, 60.0, 1, 1)
    state = log.charge(t, 60.0, 1, 1)
    assert not state.is_acquired and state.reset_seconds() == 60
