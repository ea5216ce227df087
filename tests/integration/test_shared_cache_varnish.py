"""A real shared cache in front (Varnish keying by URL alone): tenant B never gets tenant A's
answer, an anonymous client never gets anything but 401 (issue 11, D6).

The VCL caches whatever the backend lets it: it ignores Authorization and hashes the URL
only. What keeps tenants apart is the service's Cache-Control (private / no-store), which
Varnish's built-in vcl_backend_response honours.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from conftest import person
from intelgraph.app import create_app
from intelgraph.bootstrap import start_services
from intelgraph.gateway.authn import JWKS_PATH
from intelgraph.settings import Settings
from live_servers import free_port, start_process, stop_process, uvicorn_server

pytestmark = pytest.mark.integration

VARNISHD = Path("/usr/sbin/varnishd")
URL_ONLY_VCL = """vcl 4.1;
backend default {{ .host = "127.0.0.1"; .port = "{port}"; }}
sub vcl_recv {{ return (hash); }}
sub vcl_hash {{ hash_data(req.url); return (lookup); }}
sub vcl_deliver {{
    set resp.http.X-Cache = "MISS";
    if (obj.hits > 0) {{ set resp.http.X-Cache = "HIT"; }}
}}
"""
SEARCH = '{ searchEntities(q: "secret") { total items { label } } }'


@pytest.fixture
def backend(settings: Settings) -> Iterator[str]:
    services = start_services(settings)
    with uvicorn_server(create_app(services=services)) as url:
        yield url


@pytest.fixture
def varnish(backend: str, tmp_path: Path) -> Iterator[str]:
    """varnishd on a free port in front of ``backend``, with the URL-only VCL."""
    if not VARNISHD.exists():
        pytest.fail(
            f"{VARNISHD} is missing: install Debian's varnish package (`make services` "
            "runs scripts/ensure-services.sh, which does)"
        )
    vcl = tmp_path / "url-only.vcl"
    vcl.write_text(URL_ONLY_VCL.format(port=backend.rsplit(":", 1)[1]))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start_process(
        [
            str(VARNISHD),
            "-F",  # foreground: the test owns the process
            "-j",
            "none",  # no privilege separation: the work dir is the test's own
            "-a",
            f"127.0.0.1:{port}",
            "-f",
            str(vcl),
            "-n",
            str(tmp_path / "varnish"),
            "-s",
            "malloc,32m",
            "-t",
            "120",  # the default TTL of anything the backend does not forbid
        ],
        tmp_path / "varnishd.log",
        f"{url}/healthz",
    )
    try:
        yield url
    finally:
        stop_process(process)


def new_tenant(backend: str, operator_key: str, secret_label: str) -> tuple[str, str]:
    """A tenant with one entity labelled ``secret_label``: (its admin key, the entity id)."""
    slug = f"t-{secret_label.lower().replace(' ', '-')}"
    created = httpx.post(
        f"{backend}/v1/admin/tenants",
        json={"name": secret_label, "slug": slug, "plan": "standard"},
        headers={"Authorization": f"Bearer {operator_key}"},
    )
    assert created.status_code == 201, created.text
    key = created.json()["apiKey"]
    ingested = httpx.post(
        f"{backend}/v1/ingest",
        content=orjson.dumps(person("p1", secret_label)),
        headers={"Authorization": f"Bearer {key}", "content-type": "application/x-ndjson"},
    )
    assert ingested.status_code == 200, ingested.text
    return key, ingested.json()["ids"]["p1"]


def read(url: str, path: str, params: dict[str, str], key: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.get(url + path, params=params, headers=headers, timeout=10)


def test_the_url_only_cache_does_cache_what_the_service_lets_it(varnish: str) -> None:
    first = httpx.get(varnish + JWKS_PATH)
    second = httpx.get(varnish + JWKS_PATH)
    assert first.status_code == second.status_code == 200
    assert second.headers["x-cache"] == "HIT"  # public, max-age=60: shared caching works


def test_tenant_b_and_anonymous_never_get_tenant_a_s_answer_through_a_shared_cache(
    backend: str, varnish: str, settings: Settings
) -> None:
    assert settings.operator_key is not None
    a_key, a_entity = new_tenant(backend, settings.operator_key, "Secret Alpha")
    b_key, _ = new_tenant(backend, settings.operator_key, "Secret Beta")
    own = httpx.post(
        f"{backend}/v1/persisted-queries",
        json={"id": "alphaOwn:v1", "document": "query alphaOwn { __typename }"},
        headers={"Authorization": f"Bearer {a_key}"},
    )
    assert own.status_code == 201, own.text
    entity = orjson.dumps({"id": a_entity}).decode()
    # (what, path, parameters, a marker of A's answer, a marker of B's own answer)
    reads: list[tuple[str, str, dict[str, str], str, str]] = [
        ("query text", "/graphql", {"query": SEARCH}, "Secret Alpha", "Secret Beta"),
        (
            "safelisted persisted GET",
            "/graphql",
            {"operationId": "getEntityById:v1", "variables": entity},
            "Secret Alpha",
            '"entity":null',
        ),
        ("REST GET", "/v1/persisted-queries", {}, "alphaOwn", "getEntityById:v1"),
    ]
    for name, path, params, a_marker, b_marker in reads:
        for _ in range(2):  # the second round would be a cache hit if one were stored
            a = read(varnish, path, params, a_key)
            b = read(varnish, path, params, b_key)
            anonymous = read(varnish, path, params, None)
            assert a.status_code == 200 and a_marker in a.text, (name, a.text)
            assert a_marker not in b.text and b_marker in b.text, (name, b.text)
            assert anonymous.status_code == 401, (name, anonymous.text)
            assert a_marker not in anonymous.text, (name, anonymous.text)
            for response in (a, b, anonymous):
                assert response.headers["x-cache"] == "MISS", (name, dict(response.headers))
