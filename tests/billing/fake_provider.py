"""A fake billing provider: an HTTP server, started in the test, that speaks the real wire
formats of the three live adapters and misbehaves on request.

- Stripe Billing Meter Events: ``POST /v1/billing/meter_events``, form-encoded, Bearer
  secret key, ``Idempotency-Key`` (a replay with the same key returns the first answer
  with ``Idempotent-Replayed: true``; another body under that key is a 400; a second
  request while the first is in flight is a 409, as Stripe does).
- OpenMeter: ``POST /api/v1/events``, ``application/cloudevents-batch+json``, CloudEvents
  1.0 fields checked, deduplicated on the event id (one source here), 204.
- Standard Webhooks: ``POST /webhook``; ``webhook-id``, ``webhook-timestamp`` (within five
  minutes of the test's clock) and ``webhook-signature`` verified; deduplicated on the id.

It counts what it billed by idempotency key and by *usage* (customer, meter, period), so a
test can tell a retry the provider absorbed from a second bill for the same usage, and it
injects faults: 5xx, stalls past the client's timeout (after billing, so the answer is
lost), dropped connections (before or after billing) and 429 with Retry-After.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import orjson

STRIPE_KEY = "sk_test_fake_provider"
OPENMETER_TOKEN = "om_test_fake_provider"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"fake-provider-webhook-secret-32b").decode()
CLOUDEVENTS_BATCH = "application/cloudevents-batch+json"
WEBHOOK_TOLERANCE_SECONDS = 300


@dataclass(frozen=True)
class Faults:
    """Chances per request of each fault (they add up; the rest are answered normally)."""

    server_error: float = 0.0  # 500/502/503 before billing
    timeout: float = 0.0  # bill, then stall past the client's timeout: the answer is lost
    drop: float = 0.0  # close the connection without an answer (half before, half after)
    throttle: float = 0.0  # 429 with Retry-After, before billing
    retry_after: int = 1
    stall_seconds: float = 0.5
    latency_seconds: float = 0.0  # added to every request (widens race windows)
    seed: int = 7


NO_FAULTS = Faults()
ALL_FAULTS = Faults(server_error=0.30, timeout=0.03, drop=0.03, throttle=0.04)
"""The acceptance mix: 30 % 5xx plus timeouts, dropped connections and 429s (40 %)."""


@dataclass(frozen=True)
class Billed:
    """One usage event the provider accepted (first time its key was seen)."""

    protocol: str
    key: str
    usage: tuple[str, ...]  # what is billed: (customer, meter, period)
    value: Decimal
    fields: dict[str, Any]


@dataclass
class _Ledger:
    billed: dict[str, Billed] = field(default_factory=dict)  # key -> first acceptance
    stripe_answers: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # key -> body
    requests: Counter[str] = field(default_factory=Counter)  # by protocol
    attempts: Counter[str] = field(default_factory=Counter)  # requests naming each key
    replays: Counter[str] = field(default_factory=Counter)  # answered from the dedupe store
    faults: Counter[str] = field(default_factory=Counter)
    rejected: list[str] = field(default_factory=list)  # 4xx answers, with why
    in_flight: Counter[str] = field(default_factory=Counter)
    max_in_flight: int = 0


class FakeBillingProvider:
    """Start with ``with FakeBillingProvider() as provider:``; point settings at ``url``."""

    def __init__(
        self, faults: Faults = NO_FAULTS, *, now: Callable[[], float] | None = None
    ) -> None:
        self._faults = faults
        self._rng = random.Random(faults.seed)
        self._now = now or time.time
        self._lock = threading.Lock()
        self._ledger = _Ledger()
        self.reject_ids: set[str] = set()  # event ids / identifiers to refuse with 400
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def webhook_url(self) -> str:
        return self.url + "/webhook"

    def __enter__(self) -> FakeBillingProvider:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def set_faults(self, faults: Faults) -> None:
        with self._lock:
            self._faults = faults
            self._rng = random.Random(faults.seed)

    # --- what the provider saw ---------------------------------------------------------

    @property
    def billed(self) -> dict[str, Billed]:
        with self._lock:
            return dict(self._ledger.billed)

    def billed_by(self, protocol: str) -> dict[str, Billed]:
        return {k: b for k, b in self.billed.items() if b.protocol == protocol}

    def duplicate_usage(self) -> dict[tuple[str, ...], list[str]]:
        """Usage billed under more than one key: a double bill."""
        keys: dict[tuple[str, ...], list[str]] = {}
        for billed in self.billed.values():
            keys.setdefault((billed.protocol, *billed.usage), []).append(billed.key)
        return {usage: ks for usage, ks in keys.items() if len(ks) > 1}

    @property
    def requests(self) -> Counter[str]:
        with self._lock:
            return Counter(self._ledger.requests)

    @property
    def attempts(self) -> Counter[str]:
        with self._lock:
            return Counter(self._ledger.attempts)

    @property
    def replays(self) -> Counter[str]:
        with self._lock:
            return Counter(self._ledger.replays)

    @property
    def faults_injected(self) -> Counter[str]:
        with self._lock:
            return Counter(self._ledger.faults)

    @property
    def rejected(self) -> list[str]:
        with self._lock:
            return list(self._ledger.rejected)

    @property
    def max_in_flight(self) -> int:
        """The most requests ever in progress at once for one key (1 = never concurrent)."""
        with self._lock:
            return self._ledger.max_in_flight

    # --- request handling (called on the server's threads) ----------------------------

    def _draw_fault(self) -> str | None:
        with self._lock:
            f = self._faults
            roll = self._rng.random()
            flip = self._rng.random()
        edge = 0.0
        for name, chance in (
            ("server_error", f.server_error),
            ("timeout", f.timeout),
            ("drop", f.drop),
            ("throttle", f.throttle),
        ):
            edge += chance
            if roll < edge:
                if name == "drop":
                    return "drop_before" if flip < 0.5 else "drop_after"
                return name
        return None

    @contextlib.contextmanager
    def _working_on(self, keys: list[str]) -> Iterator[None]:
        with self._lock:
            for key in keys:
                self._ledger.attempts[key] += 1
                self._ledger.in_flight[key] += 1
                self._ledger.max_in_flight = max(
                    self._ledger.max_in_flight, self._ledger.in_flight[key]
                )
        try:
            yield
        finally:
            with self._lock:
                for key in keys:
                    self._ledger.in_flight[key] -= 1

    def handle(self, request: _Request) -> _Answer | None:
        """The answer to one request; None = drop the connection without one."""
        protocol = {
            "/v1/billing/meter_events": "stripe",
            "/api/v1/events": "openmeter",
            "/webhook": "webhook",
        }.get(request.path)
        if protocol is None or request.method != "POST":
            return _Answer(404, {"error": {"message": f"no route {request.path}"}})
        with self._lock:
            self._ledger.requests[protocol] += 1
            faults = self._faults
        if faults.latency_seconds:
            time.sleep(faults.latency_seconds)
        fault = self._draw_fault()
        if fault is not None:
            with self._lock:
                self._ledger.faults[fault] += 1
        if fault == "server_error":
            with self._lock:
                status = self._rng.choice((500, 502, 503))
            return _Answer(status, {"error": {"message": "boom"}})
        if fault == "throttle":
            return _Answer(
                429,
                {"error": {"message": "slow down"}},
                {"Retry-After": str(faults.retry_after)},
            )
        if fault == "drop_before":
            return None
        answer = {"stripe": self._stripe, "openmeter": self._openmeter, "webhook": self._webhook}[
            protocol
        ](request)
        if fault == "drop_after":
            return None
        if fault == "timeout":
            time.sleep(faults.stall_seconds)
        return answer

    def _reject(self, status: int, why: str) -> _Answer:
        with self._lock:
            self._ledger.rejected.append(f"{status} {why}")
        return _Answer(status, {"error": {"type": "invalid_request_error", "message": why}})

    def _bill(self, billed: Billed) -> bool:
        """Record a first acceptance; False when the key was billed before (a replay)."""
        with self._lock:
            if billed.key in self._ledger.billed:
                self._ledger.replays[billed.key] += 1
                return False
            self._ledger.billed[billed.key] = billed
            return True

    def _stripe(self, request: _Request) -> _Answer:
        if request.headers.get("authorization") != f"Bearer {STRIPE_KEY}":
            return self._reject(401, "Invalid API Key provided")
        if not request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            return self._reject(400, "meter events are form-encoded")
        key = request.headers.get("idempotency-key", "")
        if not key:
            return self._reject(400, "an Idempotency-Key header is required here")
        try:
            form = {
                k: v[0]
                for k, v in parse_qs(
                    request.body.decode(), strict_parsing=True, keep_blank_values=True
                ).items()
            }
        except ValueError:
            return self._reject(400, "malformed form body")
        with self._working_on([key]):
            with self._lock:
                in_flight = self._ledger.in_flight[key]
                stored = self._ledger.stripe_answers.get(key)
            if in_flight > 1:
                return _Answer(409, {"error": {"type": "idempotency_error", "message": "busy"}})
            fingerprint = orjson.dumps(form, option=orjson.OPT_SORT_KEYS).decode()
            if stored is not None:
                if stored[0] != fingerprint:
                    return self._reject(400, f"Idempotency-Key {key} reused with other params")
                with self._lock:
                    self._ledger.replays[key] += 1
                return _Answer(200, orjson.loads(stored[1]), {"Idempotent-Replayed": "true"})
            problem = _stripe_problem(form, self.reject_ids)
            if problem is not None:
                return self._reject(400, problem)
            value = Decimal(form["payload[value]"])
            self._bill(
                Billed(
                    "stripe",
                    form["identifier"],
                    (form["payload[stripe_customer_id]"], form["event_name"], form["timestamp"]),
                    value,
                    form,
                )
            )
            body = {
                "object": "billing.meter_event",
                "event_name": form["event_name"],
                "identifier": form["identifier"],
                "payload": {
                    "stripe_customer_id": form["payload[stripe_customer_id]"],
                    "value": form["payload[value]"],
                },
                "timestamp": int(form["timestamp"]),
                "created": int(self._now()),
                "livemode": False,
            }
            with self._lock:
                self._ledger.stripe_answers[key] = (fingerprint, orjson.dumps(body))
            return _Answer(200, body)

    def _openmeter(self, request: _Request) -> _Answer:
        if request.headers.get("authorization") != f"Bearer {OPENMETER_TOKEN}":
            return self._reject(401, "unauthorized")
        if request.headers.get("content-type", "").split(";")[0].strip() != CLOUDEVENTS_BATCH:
            return self._reject(415, f"content type must be {CLOUDEVENTS_BATCH}")
        try:
            events = orjson.loads(request.body)
        except orjson.JSONDecodeError:
            return self._reject(400, "body is not JSON")
        if not isinstance(events, list) or not events:
            return self._reject(400, "a batch is a non-empty JSON array of CloudEvents")
        problems = [p for p in (_cloudevent_problem(e, self.reject_ids) for e in events) if p]
        if problems:
            return self._reject(400, problems[0])
        with self._working_on([e["id"] for e in events]):
            for event in events:
                self._bill(
                    Billed(
                        "openmeter",
                        event["id"],
                        (event["subject"], event["type"], event["time"]),
                        Decimal(str(event["data"]["value"])),
                        event,
                    )
                )
        return _Answer(204, None)

    def _webhook(self, request: _Request) -> _Answer:
        message_id = request.headers.get("webhook-id", "")
        stamp = request.headers.get("webhook-timestamp", "")
        signatures = request.headers.get("webhook-signature", "")
        if not message_id or not stamp.isdigit() or not signatures:
            return self._reject(400, "webhook-id, webhook-timestamp and webhook-signature needed")
        if abs(self._now() - int(stamp)) > WEBHOOK_TOLERANCE_SECONDS:
            return self._reject(400, "webhook-timestamp is too far from now")
        expected = standard_webhook_signature(WEBHOOK_SECRET, message_id, int(stamp), request.body)
        if not any(hmac.compare_digest(candidate, expected) for candidate in signatures.split(" ")):
            return self._reject(400, "no valid webhook-signature")
        try:
            event = orjson.loads(request.body)
        except orjson.JSONDecodeError:
            return self._reject(400, "body is not JSON")
        if event.get("id") != message_id:
            return self._reject(400, "body id differs from webhook-id")
        if message_id in self.reject_ids:
            return self._reject(400, f"event {message_id} refused")
        with self._working_on([message_id]):
            self._bill(
                Billed(
                    "webhook",
                    message_id,
                    (event["tenant_id"], event["meter"], event["period_start"]),
                    Decimal(event["value"]),
                    event,
                )
            )
        return _Answer(200, {"received": True})


def standard_webhook_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The receiver's side of the spec, written here independently of the adapter."""
    key = base64.b64decode(secret.split("_", 1)[1])
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(digest.digest()).decode()


def _stripe_problem(form: dict[str, str], reject_ids: set[str]) -> str | None:
    for name in (
        "event_name",
        "payload[stripe_customer_id]",
        "payload[value]",
        "identifier",
        "timestamp",
    ):
        if not form.get(name):
            return f"Missing required param: {name}"
    if not form["payload[stripe_customer_id]"].startswith("cus_"):
        return "No such customer: " + form["payload[stripe_customer_id]"]
    if len(form["identifier"]) > 100 or len(form["event_name"]) > 100:
        return "identifier and event_name are at most 100 characters"
    if not form["timestamp"].isdigit():
        return "timestamp must be an integer (Unix seconds)"
    try:
        if Decimal(form["payload[value]"]) < 0:
            return "value must not be negative"
    except InvalidOperation:
        return "value must be a number"
    if form["identifier"] in reject_ids:
        return f"meter event {form['identifier']} refused"
    return None


def _cloudevent_problem(event: Any, reject_ids: set[str]) -> str | None:
    if not isinstance(event, dict):
        return "every event must be an object"
    if event.get("specversion") != "1.0":
        return "specversion must be 1.0"
    for name in ("id", "source", "type", "subject", "time"):
        if not isinstance(event.get(name), str) or not event[name]:
            return f"event needs a non-empty {name}"
    try:
        datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
    except ValueError:
        return "time must be RFC 3339"
    data = event.get("data")
    if not isinstance(data, dict) or "value" not in data:
        return "data.value is required"
    try:
        Decimal(str(data["value"]))
    except InvalidOperation:
        return "data.value must be numeric"
    if event["id"] in reject_ids:
        return f"event {event['id']} refused"
    return None


# --- HTTP plumbing -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass(frozen=True)
class _Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def _handler_for(provider: FakeBillingProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as two writes

        def do_POST(self) -> None:
            self._serve("POST")

        def do_GET(self) -> None:
            self._serve("GET")

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            request = _Request(
                method,
                self.path.split("?", 1)[0],
                {k.lower(): v for k, v in self.headers.items()},
                body,
            )
            answer = provider.handle(request)
            if answer is None:  # dropped: no status line, connection closed
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(2)
                return
            payload = b"" if answer.body is None else orjson.dumps(answer.body)
            with contextlib.suppress(OSError):
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if answer.body is not None:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler
