"""Gateway stage: a tenant's quotas (egress_gb_day, then api_rpm) before its request runs.

Pure ASGI, after authn and before metering, so the 429s it answers are never metered as
api_calls. Admitted responses carry the ``RateLimit-Policy`` and ``RateLimit`` headers; the
body bytes that pass through are added to the tenant's egress tally after the response,
without buffering. Requests without a tenant principal (operator key, public paths) pass.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any, cast

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from intelgraph.api.responses import error_response
from intelgraph.gateway.authn import PRINCIPAL
from intelgraph.gateway.request_log import request_id_of
from intelgraph.quotas.decisions import QuotaDecision, merge_header_value, policy_item
from intelgraph.quotas.limiter import QuotaEngine
from intelgraph.quotas.limits_cache import LimitsFor
from intelgraph.tenants.plans import LimitName

_POLICY = b"ratelimit-policy"
_STATE = b"ratelimit"
_API_RPM = LimitName.API_RPM
_EGRESS = LimitName.EGRESS_GB_DAY


class QuotaMiddleware:
    def __init__(self, app: ASGIApp, quotas: QuotaEngine, limits_for: LimitsFor) -> None:
        self.app = app
        self.quotas = quotas
        self.limits_for = limits_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        principal = scope.get(PRINCIPAL) if scope["type"] == "http" else None
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
        if rpm.is_degraded:  # unchecked: we do not know what remains
            policy = _policy_header(None, egress.quota)
            state = egress.state_item().encode("latin-1")
        else:
            policy = _policy_header(rpm.quota, egress.quota)
            state = f"{rpm.state_item()}, {egress.state_item()}".encode("latin-1")
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


@functools.lru_cache(maxsize=4096)
def _policy_header(rpm_quota: int | None, egress_quota: int) -> bytes:
    """The ``RateLimit-Policy`` value for these quotas (api_rpm omitted when unchecked),
    encoded once: it changes only with a tenant's limits."""
    egress = policy_item(_EGRESS, egress_quota)
    if rpm_quota is None:
        return egress.encode("latin-1")
    return f"{policy_item(_API_RPM, rpm_quota)}, {egress}".encode("latin-1")


def _with_rate_limit(
    headers: Iterable[tuple[bytes, bytes]], policy: bytes, state: bytes
) -> list[tuple[bytes, bytes]]:
    """The response headers with ours merged into any RateLimit lists already there
    (an ingest adds its ingest_eps policy)."""
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
    kept.append((_POLICY, merge_header_value(existing_policy, policy)))
    kept.append((_STATE, merge_header_value(existing_state, state)))
    return kept
