"""GraphiQL in a real browser (Debian's Chromium, driven by Playwright) with every request to
another host refused: the page renders its editor, loads the schema and runs a query with no
console error (issue 12, "Air-gapped pages")."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import ConsoleMessage, Route, sync_playwright

from intelgraph.app import create_app
from intelgraph.bootstrap import start_services
from intelgraph.settings import Settings
from live_servers import uvicorn_server

CHROMIUM = "/usr/bin/chromium"
TIMEOUT_MS = 30_000


OPERATOR_KEY = "igo_test_operator_key"


@pytest.fixture
def live_url(tmp_path: Path) -> Iterator[str]:
    """A server on a temp SQLite file (the page does not depend on the backend)."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/intelgraph.db",
        data_dir=tmp_path / "data",
        operator_key=OPERATOR_KEY,
        run_background_jobs=False,
    )
    with uvicorn_server(create_app(services=start_services(settings))) as url:
        yield url


def tenant_key_with_one_entity(url: str) -> str:
    created = httpx.post(
        f"{url}/v1/admin/tenants",
        json={"name": "Browser tenant", "slug": "browser", "plan": "standard"},
        headers={"Authorization": f"Bearer {OPERATOR_KEY}"},
    )
    assert created.status_code == 201, created.text
    key: str = created.json()["apiKey"]
    line = {"kind": "entity", "external_id": "ada", "type": "PERSON", "label": "Ada Lovelace"}
    ingested = httpx.post(
        f"{url}/v1/ingest",
        content=json.dumps(line).encode(),
        headers={"Authorization": f"Bearer {key}", "content-type": "application/x-ndjson"},
    )
    assert ingested.status_code == 200, ingested.text
    return key


def record_error(errors: list[str], message: ConsoleMessage) -> None:
    if message.type == "error":
        errors.append(f"{message.text} ({message.location.get('url')})")


def test_graphiql_renders_and_runs_a_query_without_the_internet(live_url: str) -> None:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: `make services` installs Debian's chromium")
    api_key = tenant_key_with_one_entity(live_url)
    outside: list[str] = []
    console_errors: list[str] = []

    def only_this_service(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname != "127.0.0.1":
            outside.append(url)
            route.abort()
        elif urlsplit(url).path == "/graphql":  # as if the user pasted their key
            headers = route.request.headers | {"authorization": f"Bearer {api_key}"}
            route.continue_(headers=headers)
        else:
            route.continue_()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.on("console", lambda message: record_error(console_errors, message))
            page.on("pageerror", lambda error: console_errors.append(str(error)))
            page.route("**/*", only_this_service)
            page.goto(f"{live_url}/graphiql")
            page.wait_for_selector(".graphiql-query-editor .CodeMirror")
            assert "searchEntities" in page.inner_text(".graphiql-query-editor")
            page.click(".graphiql-execute-button")
            page.wait_for_function(
                "() => document.querySelector('.result-window')?.innerText.includes('total')"
            )
            result = page.inner_text(".result-window")
        finally:
            browser.close()
    assert outside == []
    assert console_errors == []
    assert '"total": 1' in result
