"""Gateway stage: a tenant's quotas (egress_gb_day, then api_rpm) before its request runs.

Pure ASGI, after authn and before metering, so the 429s it answers are never metered as
api_calls. Admitted responses carry the ``RateLimit-Policy`` and ``RateLimit`` headers; the
body bytes that pass through are added to the tenant's egress tally after the response,
without buffering. Requests without a tenant principal (operator key, public paths) pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from intelgraph.api.responses import error_response
from intelgraph.gateway.authn import PRINCIPAL
from intelgraph.gateway.request_log import request_id_of
from intelgraph.quotas.decisions import QuotaDecision, merge_header_value
from intelgraph.quotas.limiter import QuotaEngine
from intelgraph.quotas.limits_cache import LimitsFor

_POLICY = b"ratelimit-policy"
_STATE = b"ratelimit"


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
        policy = egress.policy_item()
        state = egress.state_item()
        if not rpm.is_degraded:  # unchecked: we do not know what remains
            policy = f"{rpm.policy_item()}, {policy}"
            state = f"{rpm.state_item()}, {state}"
        sent = 0

        async def send_with_quota(message: Message) -> None:
            nonlocal sent
            if message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            elif message["type"] == "http.response.start":
                message["headers"] = _with_rate_limit(message.get("headers", []), policy, state)
            await send(message)

        try:
            await self.app(scope, receive, send_with_quota)
        finally:
            self.quotas.add_egress(tenant_id, sent)


async def _refuse(decision: QuotaDecision, scope: Scope, receive: Receive, send: Send) -> None:
    response = error_response(decision.to_error(), request_id_of(cast(dict[str, Any], scope)))
    await response(scope, receive, send)


def _with_rate_limit(
    headers: Iterable[tuple[bytes, bytes]], policy: str, state: str
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
