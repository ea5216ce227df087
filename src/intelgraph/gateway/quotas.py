"""Gateway stage: a tenant's quotas (egress_gb_day, then api_rpm) before its request runs.

Pure ASGI, after authn and before metering, so the 429s it answers are never metered as
api_calls. Admitted responses carry the ``RateLimit-Policy`` and ``RateLimit`` headers of
the limits that were checked (a degraded decision, taken while the shared backend could not
answer, is left out: its allowance is unknown); the body bytes that pass through are added
to the tenant's egress tally after the response, without buffering. Requests without a
tenant principal (operator key, public paths) pass.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any, cast

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from intelgraph.gateway.request_log import request_id_of
from intelgraph.http.responses import error_response
from intelgraph.http.scope import (
    principal_of,
)
from intelgraph.quotas.decisions import QuotaDecision, merge_header_value, policy_item
from intelgraph.quotas.limiter import QuotaEngine
from intelgraph.quotas.limits_cache import LimitsFor
from intelgraph.tenants.plans import LimitName

_POLICY = b"ratelimit-policy"
_STATE = b"ratelimit"


class QuotaMiddleware:
    def __init__(self, app: ASGIApp, quotas: QuotaEngine, limits_for: LimitsFor) -> None:
        self.app = app
        self.quotas = quotas
        self.limits_for = limits_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        principal = principal_of(scope)
        tenant_id: str | None = principal.tenant_id if principal is not None else None
        if tenant_id is None:
            await self.app(scope, receive, send)
            return
        try:
            limits = self.limits_for(tenant_id)
        except Exception as exc:  # quotas must not take the API down with them
            self.quotas.report_backend_error("limits", exc, rest_backend=False)
            await self.app(scope, receive, send)
            return
        egress = self.quotas.check_egress(tenant_id, limits)
        if not egress.is_allowed:
            await _refuse(egress, scope, receive, send)
            return
        rpm = await self.quotas.charge_request(tenant_id, limits)
        if not rpm.is_allowed:
            await _refuse(rpm, scope, receive, send)
            return
        policy, state = _reported(rpm, egress)
        sent = 0

        async def send_with_quota(message: Message) -> None:
            nonlocal sent
            kind = message["type"]
            if kind == "http.response.body":
                sent += len(message.get("body", b""))
            elif kind == "http.response.start":
                message["headers"] = _with_rate_limit(message.get("headers", []), policy, state)
            await send(message)

        try:
            await self.app(scope, receive, send_with_quota)
        finally:
            self.quotas.add_egress(tenant_id, sent)


async def _refuse(decision: QuotaDecision, scope: Scope, receive: Receive, send: Send) -> None:
    response = error_response(decision.to_error(), request_id_of(cast(dict[str, Any], scope)))
    await response(scope, receive, send)


def _reported(rpm: QuotaDecision, egress: QuotaDecision) -> tuple[bytes, bytes]:
    """``RateLimit-Policy`` and ``RateLimit`` values of the decisions that were checked
    (empty when none was)."""
    checked = [decision for decision in (rpm, egress) if not decision.is_degraded]
    policy = _policy_header(tuple((decision.limit, decision.quota) for decision in checked))
    state = ", ".join(decision.state_item() for decision in checked).encode("latin-1")
    return policy, state


@functools.lru_cache(maxsize=4096)
def _policy_header(quotas: tuple[tuple[LimitName, int], ...]) -> bytes:
    """The ``RateLimit-Policy`` value for these quotas, encoded once: it changes only with
    a tenant's limits."""
    return ", ".join(policy_item(limit, quota) for limit, quota in quotas).encode("latin-1")


def _with_rate_limit(
    headers: Iterable[tuple[bytes, bytes]], policy: bytes, state: bytes
) -> list[tuple[bytes, bytes]]:
    """The response headers with ours merged into any RateLimit lists already there
    (an ingest adds its ingest_eps policy); an empty list is not sent."""
    existing_policy = existing_state = None
    kept = []
    for name, value in headers:
        lowered = name.lower()
        if lowered == _POLICY:
            existing_policy = value
        elif lowered == _STATE:
            existing_state = value
        else:
            kept.append((name, value))
    merged_policy = merge_header_value(existing_policy, policy) if policy else existing_policy
    merged_state = merge_header_value(existing_state, state) if state else existing_state
    if merged_policy:
        kept.append((_POLICY, merged_policy))
    if merged_state:
        kept.append((_STATE, merged_state))
    return kept
