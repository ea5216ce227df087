"""Static assets under ``/static``: vendored browser files, served with an immutable cache.

``static/vendor/assets.json`` (written by ``make vendor-web``) maps an asset name to its path;
each path names the package version, so a URL always means one content and browsers and
shared caches may keep it for a year.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from intelgraph.kernel.errors import METHOD_NOT_ALLOWED, IntelGraphError

STATIC_DIR = Path(__file__).parent / "static"
STATIC_PREFIX = "/static"
ASSET_MANIFEST = STATIC_DIR / "vendor" / "assets.json"
IMMUTABLE = "public, max-age=31536000, immutable"
READ_METHODS = ("GET", "HEAD")


@functools.cache
def vendored_assets() -> dict[str, str]:
    """Asset name (``graphiql.js``…) -> path under ``STATIC_DIR``."""
    assets: dict[str, str] = json.loads(ASSET_MANIFEST.read_text(encoding="utf-8"))
    return assets


def asset_url(name: str) -> str:
    """The service-relative URL of a vendored asset; KeyError for an unknown name."""
    return f"{STATIC_PREFIX}/{vendored_assets()[name]}"


class ImmutableStaticFiles(StaticFiles):
    """Starlette's StaticFiles whose answers may be cached for a year (versioned paths)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        """Raises METHOD_NOT_ALLOWED (our error shape, with Allow) for a write."""
        if scope["method"] not in READ_METHODS:
            raise IntelGraphError(
                METHOD_NOT_ALLOWED,
                f"{scope['method']} is not allowed on {scope['path']}; use GET, HEAD",
                {"allowedMethods": list(READ_METHODS)},
                {"Allow": ", ".join(READ_METHODS)},
            )
        return await super().get_response(path, scope)

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = IMMUTABLE
        return response


def static_files() -> ImmutableStaticFiles:
    """The ASGI app to mount at ``STATIC_PREFIX``."""
    return ImmutableStaticFiles(directory=STATIC_DIR)
