"""No page of the service references an outside host, and every asset it loads is served by
the service itself (issue 12, "Air-gapped pages"): GraphiQL works on a network without
internet. Pages are found by asking every parameterless GET route for HTML."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from starlette.routing import Route

from conftest import Harness
from intelgraph.web.assets import ASSET_MANIFEST, STATIC_DIR, vendored_assets

REPO = Path(__file__).resolve().parents[2]
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)""")
CSS_IMPORT = re.compile(r"""@import\s+['"]([^'"]+)""")
CONTENT_TYPES = {".js": ("text/javascript", "application/javascript"), ".css": ("text/css",)}


class References(HTMLParser):
    """Every URL a page names (``urls``: src, href, srcset, CSS url()) and those the browser
    loads with the page (``loaded``: all but links to navigate, ``<a href>``)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.loaded: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            found: list[str] = []
            if name in ("src", "href", "action", "poster", "data"):
                found = [value]
            elif name == "srcset":
                found = [item.split()[0] for item in value.split(",") if item.strip()]
            elif name == "style":
                found = css_references(value)
            self.urls += found
            if tag not in ("a", "form"):
                self.loaded += found
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.urls += css_references(data)
            self.loaded += css_references(data)


def css_references(css: str) -> list[str]:
    return CSS_URL.findall(css) + CSS_IMPORT.findall(css)


def is_outside(url: str) -> bool:
    """Whether ``url`` names a host (absolute or protocol-relative) rather than this service."""
    parts = urlsplit(url.strip())
    return bool(parts.netloc) or parts.scheme not in ("", "data")


@pytest.fixture(scope="module")
def harness(module_harness: Harness) -> Harness:
    return module_harness


def html_pages(harness: Harness) -> dict[str, str]:
    """Path -> body of every page a parameterless GET route answers with text/html."""
    pages: dict[str, str] = {}
    for route in harness.client.app.routes:  # type: ignore[attr-defined]
        if not isinstance(route, Route) or "GET" not in (route.methods or ()):
            continue
        if "{" in route.path:
            continue
        response = harness.client.get(route.path, headers=harness.operator_headers)
        if response.headers.get("content-type", "").startswith("text/html"):
            pages[route.path] = response.text
    return pages


def references(html: str) -> References:
    parser = References()
    parser.feed(html)
    return parser


def test_graphiql_is_among_the_pages_checked(harness: Harness) -> None:
    assert "/graphiql" in html_pages(harness)


def test_no_page_references_an_outside_host(harness: Harness) -> None:
    outside = {
        path: [url for url in references(html).urls if is_outside(url)]
        for path, html in html_pages(harness).items()
    }
    assert outside == {path: [] for path in outside}


def test_every_asset_a_page_loads_is_served_with_its_type_and_a_long_cache(
    harness: Harness,
) -> None:
    pages = html_pages(harness)
    assert len(references(pages["/graphiql"]).loaded) == 4  # GraphiQL, its CSS, React, ReactDOM
    for path, html in pages.items():
        for reference in references(html).loaded:
            url = urljoin(path, reference)
            response = harness.client.get(url)  # no key: a browser sends none for assets
            assert response.status_code == 200, (path, url, response.text[:200])
            suffix = Path(urlsplit(url).path).suffix
            assert response.headers["content-type"].startswith(CONTENT_TYPES[suffix]), url
            assert "immutable" in response.headers["cache-control"], url
            assert "max-age=31536000" in response.headers["cache-control"], url
            if suffix == ".css":
                outside = [u for u in css_references(response.text) if is_outside(u)]
                assert outside == [], url


def test_an_unknown_static_file_is_a_coded_404(harness: Harness) -> None:
    response = harness.client.get("/static/vendor/nothing-1.0.0/missing.js")
    assert response.status_code == 404
    assert response.json()["errors"][0]["extensions"]["code"] == "ROUTE_NOT_FOUND"


def test_each_vendored_file_ships_with_its_licence_and_pinned_version() -> None:
    pins: dict[str, str] = json.loads((REPO / "web" / "package.json").read_text())["dependencies"]
    assert (REPO / "web" / "package-lock.json").is_file()
    folders = {Path(path).parent for path in vendored_assets().values()}
    assert folders == {Path("vendor") / f"{name}-{version}" for name, version in pins.items()}
    for folder in folders:
        assert (STATIC_DIR / folder / "LICENSE").read_text().strip(), folder
    assert ASSET_MANIFEST.is_file()


def test_a_write_to_a_static_file_is_a_coded_405_naming_the_methods(harness: Harness) -> None:
    path = "/static/" + vendored_assets()["graphiql.js"]
    response = harness.client.patch(path)
    assert response.status_code == 405
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert error["extensions"]["allowedMethods"] == ["GET", "HEAD"]
    assert response.headers["allow"] == "GET, HEAD"
