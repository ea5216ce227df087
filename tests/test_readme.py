"""The README is the operator's first page: it must match what the code does."""

from __future__ import annotations

from pathlib import Path

from intelgraph.settings import Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_setting_is_documented_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [
        f"INTELGRAPH_{name.upper()}"
        for name in Settings.model_fields
        if f"`INTELGRAPH_{name.upper()}`" not in text
    ]
    assert missing == []


def test_quick_start_is_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    quick_start = text.split("## Quick start", 1)[1].split("##", 1)[0]
    assert "make run" in quick_start and "make test" in quick_start
