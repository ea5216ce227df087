"""Gateway stage: meter each authenticated request (api_calls) and its body bytes (egress).

Pure ASGI, innermost of the gateway: the quota stage sits outside it, so requests it refuses
are not metered. Bytes are counted as they pass through ``send``, without buffering; the
request is metered when it ends, whether it succeeded, failed or raised, unless its handler
marked it unbilled (``metering.billable``: an answer that only asks the client to resend).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from intelgraph.http.scope import (
    principal_of,
)
from intelgraph.metering.billable import is_billed
from intelgraph.metering.meters import UsageMeters


class MeteringMiddleware:
    def __init__(self, app: ASGIApp, meters: UsageMeters) -> None:
        self.app = app
        self.meters = meters

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        principal = principal_of(scope)
        tenant_id: str | None = principal.tenant_id if principal is not None else None
        if tenant_id is None:
            await self.app(scope, receive, send)
            return
        sent = 0

        async def send_counting(message: Message) -> None:
            nonlocal sent
            if message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_counting)
        finally:
            if is_billed(scope):
                self.meters.record_request(tenant_id, sent)
