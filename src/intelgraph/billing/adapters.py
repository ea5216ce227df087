"""Billing adapters: each turns outbox deliveries into one provider's wire format and says
what happened: sent (with a receipt), retry later, give up, or hold until an operator acts.

The outbox owns state, retries and idempotency; an adapter only speaks the protocol and
classifies the answer, so every adapter gets the same retry and backout behaviour:

- success: 2xx (and, where the provider means "already have it", 409) -> receipt;
- retryable: 5xx, 408, 429 (with ``Retry-After``), timeouts, connection errors;
- permanent: any other 4xx (bad request, bad key, unknown customer).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import hmac
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from email.utils import parsedate_to_datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import httpx
import orjson

from intelgraph.kernel.clock import Clock, isoformat
from intelgraph.kernel.errors import BILLING_ADAPTER_UNKNOWN, IntelGraphError
from intelgraph.kernel.private_files import make_private_dir, private_opener

STRIPE = "stripe"
OPENMETER = "openmeter"
WEBHOOK = "webhook"
FILE = "file"
ADAPTER_NAMES: tuple[str, ...] = (STRIPE, OPENMETER, WEBHOOK, FILE)
"""Every adapter IntelGraph knows; ``INTELGRAPH_BILLING_ADAPTERS`` enables a subset."""

STRIPE_EVENT_PREFIX = "intelgraph_"
"""Stripe meter ``event_name`` = this prefix + meter (``intelgraph_api_calls``…)."""
OPENMETER_SOURCE = "intelgraph"
"""CloudEvents ``source`` of OpenMeter events (OpenMeter dedupes on source + id)."""
OPENMETER_BATCH = 100
"""Events per OpenMeter batch request."""
CLOUDEVENTS_BATCH = "application/cloudevents-batch+json"
ERROR_BODY_CHARS = 300


class OutcomeKind(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    PERMANENT = "permanent"
    HELD = "held"  # not attempted: waits for an operator (missing customer id, settings)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One meter of one tenant's day for one adapter, as claimed from the outbox.

    ``delivery_id`` is deterministic and doubles as the provider's idempotency key.
    """

    delivery_id: str
    tenant_id: str
    period_start: datetime
    adapter: str
    meter: str
    value: Decimal
    payload: dict[str, Any]
    attempts: int
    customer_id: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """What happened to one delivery; ``retry_after`` is the provider's wish, in seconds."""

    delivery_id: str
    kind: OutcomeKind
    receipt: dict[str, Any] | None = None
    error: str | None = None
    retry_after: float | None = None


class BillingAdapter(Protocol):
    """A billing destination. ``is_live`` = a real billing system (sandboxes never go there)."""

    name: str
    is_live: bool
    needs_customer_id: bool
    dedupe_window: timedelta | None  # how long the provider remembers an idempotency key

    def configuration_problem(self) -> str | None:
        """Why this adapter cannot send (a missing setting), or None when it can."""
        ...

    def deliver(self, deliveries: Sequence[Delivery]) -> list[DeliveryOutcome]:
        """Send ``deliveries``; one outcome each, never raises for a provider's failure."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class AdapterConfig:
    """What the adapters need from Settings (kept apart so billing/ stands alone)."""

    stripe_api_base: str = "https://api.stripe.com"
    stripe_api_key: str | None = None
    openmeter_url: str | None = None
    openmeter_token: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    file_dir: Path = field(default_factory=lambda: Path("./var/billing"))
    timeout_seconds: float = 10.0


def build_adapters(
    names: Sequence[str], config: AdapterConfig, clock: Clock
) -> dict[str, BillingAdapter]:
    """The enabled adapters by name; raises ValueError naming an unknown adapter."""
    unknown = [name for name in names if name not in ADAPTER_NAMES]
    if unknown:
        raise ValueError(
            f"unknown billing adapter(s) {', '.join(unknown)} in INTELGRAPH_BILLING_ADAPTERS; "
            f"choose from {', '.join(ADAPTER_NAMES)}"
        )
    adapters: dict[str, BillingAdapter] = {}
    for name in names:
        if name == STRIPE:
            adapters[name] = StripeAdapter(config, clock)
        elif name == OPENMETER:
            adapters[name] = OpenMeterAdapter(config, clock)
        elif name == WEBHOOK:
            adapters[name] = WebhookAdapter(config, clock)
        else:
            adapters[name] = FileAdapter(config.file_dir)
    return adapters


def require_adapter(adapter: str) -> None:
    """Raises BILLING_ADAPTER_UNKNOWN unless ``adapter`` is one IntelGraph knows."""
    if adapter not in ADAPTER_NAMES:
        raise IntelGraphError(
            BILLING_ADAPTER_UNKNOWN,
            f"unknown billing adapter {adapter!r}; choose one of {', '.join(ADAPTER_NAMES)}",
        )


def format_value(value: Decimal) -> str:
    """A meter value as plain decimal text: ``1234``, ``0.123456`` (never exponent form)."""
    text = f"{value.normalize():f}"
    return text if text != "-0" else "0"


# --- HTTP outcome classification ---------------------------------------------------------


def retry_after_seconds(header: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not header:
        return None
    header = header.strip()
    if header.isdigit():
        return float(header)
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - now).total_seconds())


def classify_response(
    delivery_id: str,
    response: httpx.Response,
    receipt: dict[str, Any],
    *,
    conflict_means_duplicate: bool,
    now: datetime,
) -> DeliveryOutcome:
    """Sent, retry or permanent from an HTTP status (see the module docstring)."""
    status = response.status_code
    if 200 <= status < 300:
        return DeliveryOutcome(delivery_id, OutcomeKind.SENT, receipt=receipt)
    if status == 409 and conflict_means_duplicate:
        return DeliveryOutcome(delivery_id, OutcomeKind.SENT, receipt=receipt | {"duplicate": True})
    error = f"HTTP {status}: {_body_excerpt(response)}"
    if status in (408, 409, 429) or status >= 500:
        wait = retry_after_seconds(response.headers.get("retry-after"), now)
        return DeliveryOutcome(delivery_id, OutcomeKind.RETRY, error=error, retry_after=wait)
    return DeliveryOutcome(delivery_id, OutcomeKind.PERMANENT, error=error)


def transport_failure(delivery_id: str, exc: httpx.HTTPError) -> DeliveryOutcome:
    """Timeouts, refused or dropped connections: the request may or may not have landed,
    so retry with the same idempotency key."""
    kind = "timeout" if isinstance(exc, httpx.TimeoutException) else "connection error"
    return DeliveryOutcome(
        delivery_id, OutcomeKind.RETRY, error=f"{kind}: {type(exc).__name__}: {exc}"[:500]
    )


def _body_excerpt(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:ERROR_BODY_CHARS] or response.reason_phrase
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        message = body["error"].get("message") or body["error"].get("code")
        if message:
            return str(message)[:ERROR_BODY_CHARS]
    return orjson.dumps(body).decode()[:ERROR_BODY_CHARS]


def _http_client(timeout_seconds: float) -> httpx.Client:
    return httpx.Client(
        timeout=httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 5.0)),
        follow_redirects=False,
    )


# --- Stripe ------------------------------------------------------------------------------


class StripeAdapter:
    """Stripe Billing Meter Events: one form-encoded POST per delivery (one meter)."""

    name = STRIPE
    is_live = True
    needs_customer_id = True
    dedupe_window: timedelta | None = timedelta(hours=24)  # identifier uniqueness window

    def __init__(self, config: AdapterConfig, clock: Clock) -> None:
        self._url = config.stripe_api_base.rstrip("/") + "/v1/billing/meter_events"
        self._key = config.stripe_api_key
        self._clock = clock
        self._client = _http_client(config.timeout_seconds)

    def configuration_problem(self) -> str | None:
        if not self._key:
            return "INTELGRAPH_STRIPE_API_KEY is unset; set it (sk_…) and restart"
        return None

    def deliver(self, deliveries: Sequence[Delivery]) -> list[DeliveryOutcome]:
        return [self._send(delivery) for delivery in deliveries]

    def form(self, delivery: Delivery) -> dict[str, str]:
        """The meter event's form fields."""
        return {
            "event_name": STRIPE_EVENT_PREFIX + delivery.meter,
            "payload[stripe_customer_id]": delivery.customer_id or "",
            "payload[value]": format_value(delivery.value),
            "identifier": delivery.delivery_id,
            "timestamp": str(int(delivery.period_start.timestamp())),
        }

    def _send(self, delivery: Delivery) -> DeliveryOutcome:
        form = self.form(delivery)
        try:
            response = self._client.post(
                self._url,
                data=form,
                headers={
                    "Authorization": f"Bearer {self._key}",
                    "Idempotency-Key": delivery.delivery_id,
                },
            )
        except httpx.HTTPError as exc:
            return transport_failure(delivery.delivery_id, exc)
        receipt: dict[str, Any] = {
            "provider": STRIPE,
            "status": response.status_code,
            "event_name": form["event_name"],
            "identifier": delivery.delivery_id,
            "value": form["payload[value]"],
            "customer": delivery.customer_id,
            "replayed": response.headers.get("idempotent-replayed") == "true",
        }
        # Stripe's 409 means "a request with this key is in flight": retry, it will replay.
        return classify_response(
            delivery.delivery_id,
            response,
            receipt,
            conflict_means_duplicate=False,
            now=self._clock.now(),
        )

    def close(self) -> None:
        self._client.close()


# --- OpenMeter ---------------------------------------------------------------------------


class OpenMeterAdapter:
    """OpenMeter ingest: CloudEvents 1.0 in batches; the event id is the delivery id."""

    name = OPENMETER
    is_live = True
    needs_customer_id = False  # subject = the mapped customer id, else the tenant id
    dedupe_window: timedelta | None = None

    def __init__(self, config: AdapterConfig, clock: Clock) -> None:
        self._url = (config.openmeter_url or "").rstrip("/") + "/api/v1/events"
        self._clock = clock
        self._has_url = bool(config.openmeter_url)
        self._token = config.openmeter_token
        self._client = _http_client(config.timeout_seconds)

    def configuration_problem(self) -> str | None:
        if not self._has_url:
            return "INTELGRAPH_OPENMETER_URL is unset; set it and restart"
        return None

    @staticmethod
    def event(delivery: Delivery) -> dict[str, Any]:
        """The CloudEvent of one delivery (meter = event type; value in ``data.value``)."""
        return {
            "specversion": "1.0",
            "id": delivery.delivery_id,
            "source": OPENMETER_SOURCE,
            "type": f"intelgraph.{delivery.meter}",
            "subject": delivery.customer_id or delivery.tenant_id,
            "time": isoformat(delivery.period_start),
            "datacontenttype": "application/json",
            "data": {
                "tenant_id": delivery.tenant_id,
                "meter": delivery.meter,
                "value": format_value(delivery.value),
                "period_start": delivery.payload.get("period_start"),
                "period_end": delivery.payload.get("period_end"),
                "plan": delivery.payload.get("plan"),
            },
        }

    def deliver(self, deliveries: Sequence[Delivery]) -> list[DeliveryOutcome]:
        outcomes: list[DeliveryOutcome] = []
        for start in range(0, len(deliveries), OPENMETER_BATCH):
            outcomes.extend(self._send_batch(deliveries[start : start + OPENMETER_BATCH]))
        return outcomes

    def _send_batch(self, batch: Sequence[Delivery]) -> list[DeliveryOutcome]:
        outcomes = self._post(batch)
        if len(batch) > 1 and outcomes[0].kind is OutcomeKind.PERMANENT:
            # One bad event rejects a whole batch: send each alone so only it dies.
            return [self._post([delivery])[0] for delivery in batch]
        return outcomes

    def _post(self, batch: Sequence[Delivery]) -> list[DeliveryOutcome]:
        headers = {"Content-Type": CLOUDEVENTS_BATCH}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        body = orjson.dumps([self.event(delivery) for delivery in batch])
        try:
            response = self._client.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return [transport_failure(delivery.delivery_id, exc) for delivery in batch]
        now = self._clock.now()
        return [
            classify_response(
                delivery.delivery_id,
                response,
                {
                    "provider": OPENMETER,
                    "status": response.status_code,
                    "event_id": delivery.delivery_id,
                    "value": format_value(delivery.value),
                    "subject": delivery.customer_id or delivery.tenant_id,
                },
                conflict_means_duplicate=True,
                now=now,
            )
            for delivery in batch
        ]

    def close(self) -> None:
        self._client.close()


# --- Standard Webhooks -------------------------------------------------------------------


def webhook_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` of ``id.timestamp.body`` (Standard Webhooks spec)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


class WebhookAdapter:
    """A JSON POST per delivery, signed per Standard Webhooks; ``webhook-id`` = delivery id."""

    name = WEBHOOK
    is_live = True
    needs_customer_id = False
    dedupe_window: timedelta | None = None

    def __init__(self, config: AdapterConfig, clock: Clock) -> None:
        self._url = config.webhook_url or ""
        self._secret = config.webhook_secret
        self._clock = clock
        self._client = _http_client(config.timeout_seconds)

    def configuration_problem(self) -> str | None:
        if not self._url:
            return "INTELGRAPH_BILLING_WEBHOOK_URL is unset; set it and restart"
        if not self._secret:
            return "INTELGRAPH_BILLING_WEBHOOK_SECRET is unset; set it (whsec_…) and restart"
        try:
            base64.b64decode(self._secret.removeprefix("whsec_"), validate=True)
        except ValueError:
            return "INTELGRAPH_BILLING_WEBHOOK_SECRET is not whsec_ + base64; fix it and restart"
        return None

    @staticmethod
    def body(delivery: Delivery) -> bytes:
        """The event: the export row's fields for one meter, with the row's signature."""
        return orjson.dumps(
            {
                "type": "usage.meter",
                "id": delivery.delivery_id,
                "tenant_id": delivery.tenant_id,
                "customer_id": delivery.customer_id,
                "meter": delivery.meter,
                "value": format_value(delivery.value),
                "period_start": delivery.payload.get("period_start"),
                "period_end": delivery.payload.get("period_end"),
                "plan": delivery.payload.get("plan"),
                "row_signature": delivery.payload.get("row_signature"),
            },
            option=orjson.OPT_SORT_KEYS,
        )

    def deliver(self, deliveries: Sequence[Delivery]) -> list[DeliveryOutcome]:
        return [self._send(delivery) for delivery in deliveries]

    def _send(self, delivery: Delivery) -> DeliveryOutcome:
        body = self.body(delivery)
        now = self._clock.now()
        timestamp = int(now.timestamp())
        headers = {
            "Content-Type": "application/json",
            "webhook-id": delivery.delivery_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": webhook_signature(
                self._secret or "", delivery.delivery_id, timestamp, body
            ),
        }
        try:
            response = self._client.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return transport_failure(delivery.delivery_id, exc)
        receipt = {
            "provider": WEBHOOK,
            "status": response.status_code,
            "webhook_id": delivery.delivery_id,
            "value": format_value(delivery.value),
        }
        return classify_response(
            delivery.delivery_id, response, receipt, conflict_means_duplicate=True, now=now
        )

    def close(self) -> None:
        self._client.close()


# --- local files -------------------------------------------------------------------------


class FileAdapter:
    """JSON lines in ``usage-events-YYYY-MM-DD.jsonl``; a delivery id is written once.

    For sandboxes, air-gapped installs and as an audit trail. An exclusive ``flock``
    makes two processes on one host append safely.
    """

    name = FILE
    is_live = False
    needs_customer_id = False
    dedupe_window: timedelta | None = None

    def __init__(self, directory: Path) -> None:
        self._dir = directory

    def configuration_problem(self) -> str | None:
        return None

    def deliver(self, deliveries: Sequence[Delivery]) -> list[DeliveryOutcome]:
        by_file: dict[Path, list[Delivery]] = {}
        for delivery in deliveries:
            name = f"usage-events-{delivery.period_start:%Y-%m-%d}.jsonl"
            by_file.setdefault(self._dir / name, []).append(delivery)
        outcomes: list[DeliveryOutcome] = []
        for path, batch in by_file.items():
            try:
                outcomes.extend(self._append(path, batch))
            except OSError as exc:
                outcomes.extend(
                    DeliveryOutcome(d.delivery_id, OutcomeKind.RETRY, error=f"file: {exc}")
                    for d in batch
                )
        return outcomes

    def _append(self, path: Path, batch: Sequence[Delivery]) -> list[DeliveryOutcome]:
        make_private_dir(path.parent)
        with _locked(path.with_suffix(".lock")):
            written = _delivery_ids(path)
            fresh = [d for d in batch if d.delivery_id not in written]
            if fresh:
                lines = b"".join(_file_line(d) + b"\n" for d in fresh)
                with open(path, "ab", opener=private_opener) as out:
                    if out.tell() > 0 and not _ends_with_newline(path):
                        out.write(b"\n")  # seal a line torn by a crash mid-write
                    out.write(lines)
                    out.flush()
                    os.fsync(out.fileno())
        return [
            DeliveryOutcome(
                d.delivery_id,
                OutcomeKind.SENT,
                receipt={
                    "provider": FILE,
                    "path": str(path),
                    "value": format_value(d.value),
                    "duplicate": d.delivery_id in written,
                },
            )
            for d in batch
        ]

    def close(self) -> None:
        return None


def _file_line(delivery: Delivery) -> bytes:
    return orjson.dumps(
        {
            "delivery_id": delivery.delivery_id,
            "tenant_id": delivery.tenant_id,
            "period_start": isoformat(delivery.period_start),
            "meter": delivery.meter,
            "value": format_value(delivery.value),
            "payload": delivery.payload,
        },
        option=orjson.OPT_SORT_KEYS,
    )


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as existing:
        existing.seek(-1, os.SEEK_END)
        return existing.read(1) == b"\n"


def _delivery_ids(path: Path) -> set[str]:
    if not path.exists():
        return set()
    ids: set[str] = set()
    with path.open("rb") as lines:
        for line in lines:
            # A torn last line (crash mid-write) is skipped: its delivery is written again.
            with contextlib.suppress(orjson.JSONDecodeError, KeyError, TypeError):
                ids.add(str(orjson.loads(line)["delivery_id"]))
    return ids


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    with open(lock_path, "a", opener=private_opener) as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
