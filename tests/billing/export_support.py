"""The settings and CLI environment of a test app that writes usage exports."""

from __future__ import annotations

from pathlib import Path

from intelgraph.settings import Settings


def export_settings(url: str, tmp_path: Path, operator_key: str) -> tuple[Settings, dict[str, str]]:
    """Settings on ``url`` with data and exports under ``tmp_path``, and the same as
    ``INTELGRAPH_*`` variables for CLI runs."""
    settings = Settings(
        database_url=url,
        data_dir=tmp_path / "data",
        operator_key=operator_key,
        run_background_jobs=False,
        export_dir=tmp_path / "exports",
    )
    env = {
        "INTELGRAPH_DATABASE_URL": url,
        "INTELGRAPH_DATA_DIR": str(tmp_path / "data"),
        "INTELGRAPH_OPERATOR_KEY": operator_key,
        "INTELGRAPH_RUN_BACKGROUND_JOBS": "false",
        "INTELGRAPH_EXPORT_DIR": str(tmp_path / "exports"),
        "COLUMNS": "300",
    }
    return settings, env
