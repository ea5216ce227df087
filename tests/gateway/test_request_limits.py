"""Over-long URLs and over-large header sets get our coded JSON 414/431, not the HTTP server's
empty answer; 405s say which methods are allowed (issue 11, D9).

Through real servers on a socket: uvicorn (h11's 16 KiB request head) and `intelgraph serve`
(granian: hyper's 100 headers), so their own limits sit beyond ours.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from intelgraph.app import create_app
from intelgraph.bootstrap import start_services
from intelgraph.settings import Settings
from live_servers import granian_server, uvicorn_server

OPERATOR = {"Authorization": "Bearer igo_test_operator_key"}
DEFAULTS = Settings()


@pytest.fixture(scope="module", params=["uvicorn", "granian"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("limits")
    settings = Settings(
        database_url=f"sqlite:///{tmp}/intelgraph.db",
        data_dir=tmp / "data",
        operator_key="igo_test_operator_key",
        run_background_jobs=False,
    )
    if request.param == "uvicorn":
        with uvicorn_server(create_app(services=start_services(settings))) as url:
            yield url
    else:
        with granian_server(settings, tmp / "server.log") as url:
            yield url


def get(url: str, path: str, headers: dict[str, str] | list[tuple[str, str]]) -> httpx.Response:
    return httpx.get(url + path, headers=headers, timeout=10)


def refusal(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    error: dict[str, Any] = response.json()["errors"][0]
    assert error["extensions"]["code"] == code
    assert error["extensions"]["category"] == "VALIDATION"
    return error


def path_of_length(total: int) -> str:
    """``/graphql?query=…`` exactly ``total`` bytes long."""
    start = "/graphql?query="
    return start + "x" * (total - len(start))


def test_a_url_just_over_the_limit_gets_a_coded_414(server: str) -> None:
    response = get(server, path_of_length(DEFAULTS.max_url_bytes + 1), OPERATOR)
    error = refusal(response, 414, "URI_TOO_LONG")
    assert error["extensions"]["limit"] == "INTELGRAPH_MAX_URL_BYTES"
    assert error["extensions"]["limitBytes"] == DEFAULTS.max_url_bytes
    assert str(DEFAULTS.max_url_bytes) in error["message"]


def test_a_url_at_the_limit_reaches_the_api(server: str) -> None:
    response = get(server, path_of_length(DEFAULTS.max_url_bytes), OPERATOR)
    assert response.status_code == 400  # the endpoint's answer: "xxx…" is no GraphQL
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION"


def test_headers_over_the_byte_limit_get_a_coded_431(server: str) -> None:
    big = [(f"x-filler-{n}", "v" * 1000) for n in range(DEFAULTS.max_header_bytes // 1000 + 1)]
    response = get(server, "/healthz", big)
    error = refusal(response, 431, "HEADERS_TOO_LARGE")
    assert error["extensions"]["limit"] == "INTELGRAPH_MAX_HEADER_BYTES"
    assert error["extensions"]["limitBytes"] == DEFAULTS.max_header_bytes


def test_more_headers_than_the_count_limit_get_a_coded_431(server: str) -> None:
    many = [(f"x-h{n}", "1") for n in range(DEFAULTS.max_header_count)]  # + host, accept…
    response = get(server, "/healthz", many)
    error = refusal(response, 431, "HEADERS_TOO_LARGE")
    assert error["extensions"]["limit"] == "INTELGRAPH_MAX_HEADER_COUNT"
    assert error["extensions"]["limitCount"] == DEFAULTS.max_header_count


def test_ordinary_headers_pass(server: str) -> None:
    few = [(f"x-h{n}", "1" * 50) for n in range(20)]
    assert get(server, "/healthz", few).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PATCH", "/healthz", "GET, HEAD"),
        ("DELETE", "/v1/ingest", "POST"),
        ("PUT", "/graphql", "GET, HEAD, POST"),
        ("PATCH", "/v1/admin/tenants", "GET, HEAD, POST"),  # two routes share the path
        ("POST", "/v1/admin/tenants/acme/keys/k1", "DELETE"),
        ("GET", "/v1/er/thresholds/suggest", "POST"),
    ],
)
def test_a_405_names_the_allowed_methods(server: str, method: str, path: str, allowed: str) -> None:
    response = httpx.request(method, server + path, headers=OPERATOR, timeout=10)
    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert error["extensions"]["allowedMethods"] == allowed.split(", ")
