#!/usr/bin/env python3
"""IntelGraph sample client (Python, httpx): API v1.1, persisted queries, ingest, deprecations.

    INTELGRAPH_URL=http://127.0.0.1:8080 INTELGRAPH_API_KEY=igk_... python client.py

`IntelGraphClient` is the part to copy into your own code; `main()` is a demo that walks
through each feature against a live server and exits 0 only if every step behaved as
documented (1 with the reason otherwise, 2 when the environment is not set).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

API_VERSION = "1.1"
GRAPHQL_RESPONSE = "application/graphql-response+json"
PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"


class IntelGraphClientError(Exception):
    """The server answered something this client did not expect (status and body kept)."""

    def __init__(self, message: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


@dataclass(frozen=True)
class GraphQLResult:
    """One GraphQL answer, with how the persisted-query exchange went to get it."""

    status: int
    headers: httpx.Headers
    body: dict[str, Any]
    attempts: list[str] = field(default_factory=list)

    @property
    def data(self) -> dict[str, Any]:
        return self.body.get("data") or {}

    @property
    def extensions(self) -> dict[str, Any]:
        return self.body.get("extensions") or {}

    @property
    def served_version(self) -> str | None:
        served: str | None = self.headers.get("x-ig-api-version")
        return served

    @property
    def deprecation_warnings(self) -> list[str]:
        """Human-readable lines from the Deprecation/Sunset/Link headers and the body."""
        warnings = []
        if "deprecation" in self.headers:
            warnings.append(f"header Deprecation: {self.headers['deprecation']}")
        if "sunset" in self.headers:
            warnings.append(f"header Sunset: {self.headers['sunset']}")
        if "link" in self.headers:
            warnings.append(f"header Link: {self.headers['link']}")
        for item in self.extensions.get("deprecations", []):
            warnings.append(
                f"extensions.deprecations: {item.get('field')} is deprecated, use "
                f"{item.get('replacement')} (sunset {item.get('sunset')})"
            )
        return warnings


@dataclass(frozen=True)
class IngestResult:
    status: int
    body: dict[str, Any]
    is_replay: bool


class IntelGraphClient:
    """A small IntelGraph client: GraphQL over automatic persisted queries, and NDJSON ingest.

    Every request asks for API ``api_version`` and every answer is checked to be served in it.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        api_version: str = API_VERSION,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.api_version = api_version
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={
                "Authorization": f"Bearer {api_key}",
                "X-IG-Api-Version": api_version,
                "User-Agent": "intelgraph-sample-client-python/1.0",
            },
            timeout=timeout,
            transport=transport,
        )

    def __enter__(self) -> IntelGraphClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def query(
        self,
        document: str,
        variables: Mapping[str, Any] | None = None,
        *,
        operation_name: str | None = None,
        persisted: bool = True,
    ) -> GraphQLResult:
        """Run a GraphQL operation; raises IntelGraphClientError if the answer has errors.

        With ``persisted`` (the default) this is Apollo's APQ flow: send only the sha256 of
        the document; if the server answers PERSISTED_QUERY_NOT_FOUND, send the full text
        with the same hash once, after which the hash alone is enough.
        """
        payload: dict[str, Any] = {}
        if variables is not None:
            payload["variables"] = dict(variables)
        if operation_name is not None:
            payload["operationName"] = operation_name
        if not persisted:
            response, body = self._post_graphql({**payload, "query": document})
            return self._result(response, body, ["full text → " + _outcome(response, body)])
        extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(document)}}
        response, body = self._post_graphql({**payload, "extensions": extensions})
        attempts = ["hash only → " + _outcome(response, body)]
        if _code_of(body) == PERSISTED_QUERY_NOT_FOUND:
            retry = {**payload, "query": document, "extensions": extensions}
            response, body = self._post_graphql(retry)
            attempts.append("hash + full text → " + _outcome(response, body))
        return self._result(response, body, attempts)

    def ingest(
        self,
        records: Iterable[Mapping[str, Any]],
        *,
        idempotency_key: str | None = None,
        partial: bool = False,
    ) -> IngestResult:
        """POST /v1/ingest as NDJSON; raises IntelGraphClientError unless the batch was stored."""
        body = "".join(json.dumps(record, separators=(",", ":")) + "\n" for record in records)
        headers = {"Content-Type": "application/x-ndjson"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        response = self._http.post(
            "/v1/ingest",
            content=body.encode("utf-8"),
            headers=headers,
            params={"partial": "true"} if partial else None,
        )
        parsed = self._checked(response)
        if response.status_code != 200:
            raise IntelGraphClientError(
                f"ingest answered {response.status_code}: {_error_summary(parsed)}",
                response.status_code,
                parsed,
            )
        replayed = response.headers.get("idempotent-replayed", "").lower() == "true"
        return IngestResult(response.status_code, parsed, replayed)

    def _post_graphql(self, payload: dict[str, Any]) -> tuple[httpx.Response, dict[str, Any]]:
        response = self._http.post(
            "/graphql",
            json=payload,
            headers={"Accept": f"{GRAPHQL_RESPONSE}, application/json"},
        )
        return response, self._checked(response)

    def _result(
        self, response: httpx.Response, body: dict[str, Any], attempts: list[str]
    ) -> GraphQLResult:
        if response.status_code != 200 or body.get("errors"):
            raise IntelGraphClientError(
                f"GraphQL answered {response.status_code}: {_error_summary(body)} "
                f"(attempts: {'; '.join(attempts)})",
                response.status_code,
                body,
            )
        return GraphQLResult(response.status_code, response.headers, body, attempts)

    def _checked(self, response: httpx.Response) -> dict[str, Any]:
        """The JSON body, after checking the key was accepted and the version is the one asked."""
        body = _json_body(response)
        if response.status_code == 401:
            raise IntelGraphClientError(
                f"the server refused the API key (401): {_error_summary(body)}", 401, body
            )
        served = response.headers.get("x-ig-api-version")
        if served != self.api_version:
            raise IntelGraphClientError(
                f"asked for API {self.api_version} but {response.request.method} "
                f"{response.request.url.path} was served as {served!r} "
                f"({response.status_code}: {_error_summary(body)})",
                response.status_code,
                body,
            )
        return body


def sha256_hex(document: str) -> str:
    """The APQ / documentId hash: sha256 of the exact UTF-8 text, lower-case hex."""
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


def _json_body(response: httpx.Response) -> dict[str, Any]:
    try:
        parsed = response.json()
    except ValueError:
        return {"errors": [{"message": f"not JSON: {response.text[:200]!r}"}]}
    return parsed if isinstance(parsed, dict) else {"errors": [{"message": repr(parsed)[:200]}]}


def _code_of(body: dict[str, Any]) -> str | None:
    errors = body.get("errors") or []
    if errors and isinstance(errors[0], dict):
        code = (errors[0].get("extensions") or {}).get("code")
        return code if isinstance(code, str) else None
    return None


def _outcome(response: httpx.Response, body: dict[str, Any]) -> str:
    code = _code_of(body)
    return f"{response.status_code} {code}" if code else str(response.status_code)


def _error_summary(body: dict[str, Any]) -> str:
    errors = body.get("errors") or []
    if not errors:
        return "no errors"
    parts = []
    for error in errors[:3]:
        code = (error.get("extensions") or {}).get("code", "?")
        parts.append(f"{code}: {error.get('message')}")
    return "; ".join(parts)


# --- the demo -------------------------------------------------------------------------------

READ_BACK = """query SampleClientReadBack($ids: [ID!]!, $q: String!) {
  entities(ids: $ids) {
    id externalId type label attributes purposes retentionTier
    sources { system collectedAt reliability }
  }
  searchEntities(q: $q, limit: 10) { total items { id externalId } }
}"""

LEGACY = """query SampleClientLegacy($id: ID!) {
  getEntity(id: $id) { id name props label attributes }
}"""

EXPECTED_DEPRECATIONS = {"Query.getEntity", "Entity.name", "Entity.props"}


class StepFailed(Exception):
    """A step of the demo saw something other than what the API documents."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise StepFailed(message)


class Demo:
    """The walk-through: each step returns a one-line summary or raises StepFailed."""

    def __init__(self, client: IntelGraphClient) -> None:
        self.client = client
        # Unique per run: fresh external ids, a fresh search token and a fresh APQ hash.
        self.tag = "sc" + uuid.uuid4().hex[:12]
        self.records: list[dict[str, Any]] = [
            {
                "kind": "entity",
                "external_id": f"{self.tag}-ada",
                "type": "PERSON",
                "label": "Ada Lovelace",
                "attributes": {"email": f"ada@{self.tag}.example.org"},
                "source": "sample-client",
                "confidence": 0.9,
                "purposes": ["investigation"],
            },
            {
                "kind": "entity",
                "external_id": f"{self.tag}-charles",
                "type": "PERSON",
                "label": "Charles Babbage",
                "attributes": {"email": f"charles@{self.tag}.example.org"},
                "source": "sample-client",
                "confidence": 0.8,
                "purposes": ["investigation"],
            },
            {
                "kind": "entity",
                "external_id": f"{self.tag}-engines",
                "type": "ORGANIZATION",
                "label": "Analytical Engines Ltd",
                "attributes": {"domain": f"{self.tag}.example.org"},
                "source": "sample-client",
                "confidence": 0.7,
                "purposes": ["investigation"],
            },
            {
                "kind": "relationship",
                "type": "WORKS_FOR",
                "from": f"{self.tag}-ada",
                "to": f"{self.tag}-engines",
                "confidence": 0.8,
            },
            {
                "kind": "relationship",
                "type": "WORKS_FOR",
                "from": f"{self.tag}-charles",
                "to": f"{self.tag}-engines",
                "confidence": 0.8,
            },
        ]
        self.entity_records = [r for r in self.records if r["kind"] == "entity"]
        self.ids: dict[str, str] = {}
        self.warnings: list[str] = []

    def steps(self) -> list[tuple[str, Callable[[], str]]]:
        return [
            ("API version 1.1", self.check_version),
            ("APQ flow", self.check_apq),
            ("NDJSON ingest", self.check_ingest),
            ("read back", self.check_read_back),
            ("deprecation warnings", self.check_deprecations),
        ]

    def check_version(self) -> str:
        result = self.client.query("query SampleClientVersion { apiVersion }", persisted=False)
        expect(
            result.served_version == API_VERSION,
            f"X-IG-Api-Version response header is {result.served_version!r}, expected 1.1",
        )
        expect(
            result.data.get("apiVersion") == API_VERSION,
            f"apiVersion field is {result.data.get('apiVersion')!r}, expected 1.1",
        )
        return "X-IG-Api-Version: 1.1 sent; response header and Query.apiVersion say 1.1"

    def check_apq(self) -> str:
        # The comment makes this document's hash new to the server on every run, so the
        # "unknown hash" branch of the flow is exercised, not only the cached one.
        document = f"# sample client run {self.tag}\nquery SampleClientApq {{ apiVersion }}"
        first = self.client.query(document)
        expect(
            len(first.attempts) == 2 and PERSISTED_QUERY_NOT_FOUND in first.attempts[0],
            f"expected hash → {PERSISTED_QUERY_NOT_FOUND}, then full text → 200; got "
            f"{first.attempts}",
        )
        expect(first.data.get("apiVersion") == API_VERSION, f"unexpected data {first.data}")
        second = self.client.query(document)
        expect(
            second.attempts == ["hash only → 200"],
            f"the second call with the hash alone should succeed at once; got {second.attempts}",
        )
        expect(second.data == first.data, f"hash-only answer {second.data} != {first.data}")
        return (
            f"sha256 {sha256_hex(document)[:12]}…: [{'; '.join(first.attempts)}], "
            f"then [{'; '.join(second.attempts)}]"
        )

    def check_ingest(self) -> str:
        key = f"sample-client-{self.tag}"
        result = self.client.ingest(self.records, idempotency_key=key)
        body = result.body
        expect(not result.is_replay, "a fresh Idempotency-Key was answered as a replay")
        expect(
            body.get("accepted") == {"entities": 3, "relationships": 2},
            f"accepted {body.get('accepted')}, expected 3 entities and 2 relationships",
        )
        expect(body.get("rejected") == 0, f"rejected {body.get('rejected')}: {body}")
        ids = body.get("ids") or {}
        wanted = [r["external_id"] for r in self.entity_records]
        expect(sorted(ids) == sorted(wanted), f"ids for {sorted(ids)}, expected {sorted(wanted)}")
        self.ids = {external_id: ids[external_id] for external_id in wanted}
        replay = self.client.ingest(self.records, idempotency_key=key)
        expect(replay.is_replay, "resending with the same Idempotency-Key was not a replay")
        expect(replay.body == body, "the replayed answer differs from the first answer")
        return (
            f"3 entities + 2 relationships stored (Idempotency-Key {key}); "
            "resend replayed the first answer"
        )

    def check_read_back(self) -> str:
        wanted_ids = list(self.ids.values())
        result = self.client.query(READ_BACK, {"ids": wanted_ids, "q": self.tag})
        entities = result.data.get("entities") or []
        expect(len(entities) == 3, f"entities(ids:) returned {len(entities)} items, expected 3")
        for entity, record in zip(entities, self.entity_records, strict=True):
            expect(entity is not None, f"entities(ids:) has null for {record['external_id']}")
            for name, expected in (
                ("externalId", record["external_id"]),
                ("label", record["label"]),
                ("type", record["type"]),
                ("attributes", record["attributes"]),
                ("retentionTier", "EXTENDED"),
            ):
                expect(
                    entity[name] == expected,
                    f"{record['external_id']}.{name} is {entity[name]!r}, expected {expected!r}",
                )
            systems = [source["system"] for source in entity["sources"]]
            expect(systems == ["sample-client"], f"sources are {entity['sources']}")
        search = result.data.get("searchEntities") or {}
        found = {item["id"] for item in search.get("items", [])}
        expect(
            search.get("total") == 3 and found == set(wanted_ids),
            f"searchEntities(q: {self.tag!r}) found total={search.get('total')} {sorted(found)}, "
            f"expected the 3 ingested ids",
        )
        return (
            f"entities(ids:) returned all 3 in order; searchEntities(q: {self.tag!r}) "
            f"total=3 (APQ: {'; '.join(result.attempts)})"
        )

    def check_deprecations(self) -> str:
        entity_id = self.ids[f"{self.tag}-ada"]
        result = self.client.query(LEGACY, {"id": entity_id})
        legacy = result.data.get("getEntity") or {}
        expect(legacy.get("id") == entity_id, f"getEntity returned {legacy}")
        expect(legacy.get("name") == legacy.get("label"), "deprecated name differs from label")
        expect(legacy.get("props") == legacy.get("attributes"), "props differs from attributes")
        headers = result.headers
        expect(
            headers.get("deprecation", "").startswith("@"),
            f"Deprecation header is {headers.get('deprecation')!r}, expected @<unix seconds>",
        )
        expect(bool(headers.get("sunset")), "no Sunset header")
        expect('rel="deprecation"' in headers.get("link", ""), "no Link rel=deprecation header")
        reported = {item.get("field") for item in result.extensions.get("deprecations", [])}
        expect(
            reported == EXPECTED_DEPRECATIONS,
            f"extensions.deprecations lists {sorted(reported)}, "
            f"expected {sorted(EXPECTED_DEPRECATIONS)}",
        )
        self.warnings = result.deprecation_warnings
        hint = result.extensions.get("rewriteHint")
        if isinstance(hint, dict) and hint.get("documentId"):
            self.warnings.append(f"rewrite hint: switch to documentId {hint['documentId']}")
        return f"{len(reported)} deprecated fields reported; the fields still answer unchanged"


def main() -> int:
    url = os.environ.get("INTELGRAPH_URL", "").strip()
    api_key = os.environ.get("INTELGRAPH_API_KEY", "").strip()
    if not url or not api_key:
        print("error: set INTELGRAPH_URL and INTELGRAPH_API_KEY", file=sys.stderr)
        return 2
    print(f"IntelGraph sample client (Python) → {url}, API {API_VERSION}")
    passed = 0
    with IntelGraphClient(url, api_key) as client:
        demo = Demo(client)
        steps = demo.steps()
        for name, step in steps:
            try:
                detail = step()
            except (StepFailed, IntelGraphClientError, httpx.HTTPError) as exc:
                print(f"[FAIL] {name}: {type(exc).__name__}: {exc}")
                break
            passed += 1
            print(f"[ok]   {name}: {detail}")
            if name == "deprecation warnings":
                for warning in demo.warnings:
                    print(f"       warning: {warning}")
    is_success = passed == len(steps)
    verdict = "all steps behaved as expected" if is_success else "FAILED"
    print(f"summary: {passed}/{len(steps)} steps ok (run {demo.tag}) — {verdict}")
    return 0 if is_success else 1


if __name__ == "__main__":
    sys.exit(main())
