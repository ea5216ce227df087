"""The CLI starts light: importing it loads none of the heavy libraries.

`intelgraph tenant create` is the onboarding path (issue 3: command to first API call in
under two seconds); most of a command's start-up is imports, so a CLI module that imports
SQLAlchemy, numpy or the app at module level brings the cost back. This test says which.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("sqlalchemy", "numpy", "alembic", "graphql", "redis", "starlette", "igraph", "pyarrow")


def test_importing_the_cli_loads_no_heavy_library() -> None:
    probe = (
        "import json, sys; import intelgraph.cli.main; "
        f"print(json.dumps(sorted(m for m in {list(HEAVY)!r} if m in sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(done.stdout) == []


def test_the_schema_check_reads_the_head_from_the_migration_files() -> None:
    from intelgraph.store import migrate

    assert migrate._head_revision_from_files() == migrate.head_revision()
