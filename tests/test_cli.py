"""The `intelgraph` command as an operator at a terminal uses it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import create_engine, inspect, text
from typer.testing import CliRunner

from conftest import edge, person
from intelgraph.app import Services
from intelgraph.audit import service as audit
from intelgraph.bootstrap import start_services
from intelgraph.cli.context import services as cli_services
from intelgraph.cli.main import app as cli
from intelgraph.kernel.errors import IntelGraphError
from intelgraph.settings import Settings
from intelgraph.tenants.plans import LimitName


@dataclass
class Terminal:
    """Runs CLI commands with INTELGRAPH_* pointing at one temp database."""

    env: dict[str, str]
    settings: Settings
    runner: CliRunner

    def run(self, *args: str) -> Any:
        cli_services.cache_clear()  # the CLI builds its services once per process
        try:
            return self.runner.invoke(cli, list(args), env=self.env)
        finally:
            cli_services.cache_clear()

    def services(self) -> Services:
        return start_services(self.settings)

    def create_tenant(self, slug: str) -> dict[str, Any]:
        result = self.run("tenant", "create", "--name", f"Tenant {slug}", "--slug", slug, "--json")
        assert result.exit_code == 0, result.output
        created: dict[str, Any] = orjson.loads(result.stdout)
        return created


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    database_url = f"sqlite:///{tmp_path}/cli.db"
    env = {
        "INTELGRAPH_DATABASE_URL": database_url,
        "INTELGRAPH_DATA_DIR": str(tmp_path / "data"),
        "INTELGRAPH_OPERATOR_KEY": "igo_cli_test_operator_key",
        "INTELGRAPH_RUN_BACKGROUND_JOBS": "false",
        "COLUMNS": "200",
    }
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        operator_key="igo_cli_test_operator_key",
        run_background_jobs=False,
    )
    terminal = Terminal(env, settings, CliRunner())
    upgraded = terminal.run("db", "upgrade")  # what `serve` or an operator does first
    assert upgraded.exit_code == 0, upgraded.output
    yield terminal
    cli_services.cache_clear()


def flat(text: str) -> str:
    """Output with line wrapping undone, for phrases that may wrap."""
    return " ".join(text.split())


def write_ndjson(path: Path, lines: list[dict[str, Any] | bytes]) -> Path:
    path.write_bytes(
        b"\n".join(line if isinstance(line, bytes) else orjson.dumps(line) for line in lines)
        + b"\n"
    )
    return path


def test_tenant_create_json_prints_the_tenant_and_a_working_admin_key(
    terminal: Terminal,
) -> None:
    created = terminal.create_tenant("acme")

    assert created["tenant"]["slug"] == "acme"
    assert created["tenant"]["plan"] == "standard"
    assert created["apiKey"].startswith("igk_")
    assert created["key"]["roles"] == ["admin"]
    principal = terminal.services().tenants.authenticate(created["apiKey"])
    assert principal.tenant_id == created["tenant"]["id"]


def test_tenant_create_without_json_shows_the_key_once_in_words(terminal: Terminal) -> None:
    result = terminal.run(
        "tenant", "create", "--name", "Beta", "--slug", "beta", "--plan", "standard"
    )
    assert result.exit_code == 0, result.output
    assert "created tenant" in result.output
    assert "igk_" in result.output


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--slug", "acme"], "TENANT_EXISTS"),
        (["--slug", "Not A Slug"], "VALIDATION"),
        (["--slug", "fine-slug", "--plan", "gold"], "VALIDATION"),
    ],
    ids=["taken-slug", "bad-slug", "bad-plan"],
)
def test_tenant_create_refusals_are_one_line_and_exit_1(
    terminal: Terminal, args: list[str], code: str
) -> None:
    terminal.create_tenant("acme")
    result = terminal.run("tenant", "create", "--name", "Again", *args, "--json")
    assert result.exit_code == 1
    assert code in result.output
    assert "Traceback" not in result.output


def test_tenant_list_shows_every_tenant(terminal: Terminal) -> None:
    first = terminal.create_tenant("first-co")
    terminal.create_tenant("second-co")

    result = terminal.run("tenant", "list")

    assert result.exit_code == 0, result.output
    assert "first-co" in result.output
    assert "second-co" in result.output
    assert first["tenant"]["id"] in result.output


def test_keys_create_and_revoke(terminal: Terminal) -> None:
    terminal.create_tenant("acme")

    created = terminal.run(
        "keys", "create", "acme", "--name", "etl job", "--role", "analyst", "--json"
    )

    assert created.exit_code == 0, created.output
    issued = orjson.loads(created.stdout)
    assert issued["apiKey"].startswith("igk_")
    assert issued["key"]["roles"] == ["analyst"]
    assert terminal.services().tenants.authenticate(issued["apiKey"]).roles == ("analyst",)

    revoked = terminal.run("keys", "revoke", "acme", issued["key"]["id"])

    assert revoked.exit_code == 0, revoked.output
    assert issued["key"]["id"] in revoked.output
    with pytest.raises(IntelGraphError) as refused:
        terminal.services().tenants.authenticate(issued["apiKey"])
    assert refused.value.code == "AUTH_INVALID_KEY"
    again = terminal.run("keys", "revoke", "acme", issued["key"]["id"])
    assert again.exit_code == 1
    assert "KEY_NOT_FOUND" in again.output


def test_keys_create_refuses_an_unknown_role(terminal: Terminal) -> None:
    terminal.create_tenant("acme")
    result = terminal.run("keys", "create", "acme", "--name", "x", "--role", "root")
    assert result.exit_code == 1
    assert "VALIDATION" in result.output


def test_ingest_stores_the_lines_of_a_file(terminal: Terminal, tmp_path: Path) -> None:
    created = terminal.create_tenant("acme")
    data = write_ndjson(
        tmp_path / "graph.ndjson",
        [person("a", "Ada"), person("b", "Bob"), person("c", "Cy"), edge("OWNS", "a", "b")],
    )

    result = terminal.run("ingest", "acme", str(data))

    assert result.exit_code == 0, result.output
    assert "stored 3 entities and 1 relationships from 4 lines" in flat(result.output)
    counts = terminal.services().graph.counts(created["tenant"]["id"])
    assert counts == {"entities": 3, "relationships": 1}


def test_ingest_of_a_file_with_a_bad_line_exits_1_naming_the_line(
    terminal: Terminal, tmp_path: Path
) -> None:
    created = terminal.create_tenant("acme")
    data = write_ndjson(
        tmp_path / "bad.ndjson",
        [person("a", "Ada"), person("b", "Bob"), b'{"kind": "entity", oops', person("c", "Cy")],
    )

    result = terminal.run("ingest", "acme", str(data))

    assert result.exit_code == 1
    output = flat(result.output)
    assert "line 3" in output
    assert "refused" in output
    assert "Traceback" not in output
    assert terminal.services().graph.counts(created["tenant"]["id"])["entities"] == 0


def test_ingest_keeps_the_batches_before_a_refused_one_and_says_where_to_resume(
    terminal: Terminal, tmp_path: Path
) -> None:
    created = terminal.create_tenant("acme")
    data = write_ndjson(
        tmp_path / "bad.ndjson",
        [person("a", "Ada"), person("b", "Bob"), {**person("c", "Cy"), "type": "ALIEN"}],
    )

    result = terminal.run("ingest", "acme", str(data), "--batch-size", "2")

    assert result.exit_code == 1
    output = flat(result.output)
    assert "line 3 type" in output
    assert "resume from 3" in output
    assert terminal.services().graph.counts(created["tenant"]["id"])["entities"] == 2


def test_ingest_partial_stores_the_good_lines_and_reports_the_bad(
    terminal: Terminal, tmp_path: Path
) -> None:
    created = terminal.create_tenant("acme")
    data = write_ndjson(
        tmp_path / "mixed.ndjson",
        [person("a", "Ada"), {**person("b", "Bob"), "confidence": 7}, person("c", "Cy")],
    )

    result = terminal.run("ingest", "acme", str(data), "--partial")

    assert result.exit_code == 0, result.output
    assert "line 2 confidence" in flat(result.output)
    assert terminal.services().graph.counts(created["tenant"]["id"])["entities"] == 2


def test_ingest_into_an_unknown_tenant_exits_1(terminal: Terminal, tmp_path: Path) -> None:
    data = write_ndjson(tmp_path / "g.ndjson", [person("a", "Ada")])
    result = terminal.run("ingest", "nobody", str(data))
    assert result.exit_code == 1
    assert "TENANT_NOT_FOUND" in result.output


def test_db_upgrade_brings_a_new_database_to_the_newest_revision(terminal: Terminal) -> None:
    first = terminal.run("db", "upgrade")
    again = terminal.run("db", "upgrade")

    assert first.exit_code == 0, first.output
    assert again.exit_code == 0, again.output
    assert "database at revision" in first.output
    assert (Path(terminal.settings.database_url.removeprefix("sqlite:///"))).exists()


def test_api_keys_and_signing_keys_have_their_own_groups_and_the_old_one_still_works(
    terminal: Terminal,
) -> None:
    terminal.create_tenant("keysco")
    issued = terminal.run("api-keys", "create", "keysco", "--name", "etl", "--json")
    assert issued.exit_code == 0, issued.output
    key_id = orjson.loads(issued.stdout)["key"]["id"]
    listed = terminal.run("signing-keys", "list")
    assert listed.exit_code == 0 and "active" in listed.output
    old = terminal.run("keys", "revoke", "keysco", key_id)
    assert old.exit_code == 0, old.output
    assert "deprecated" in old.stderr and "api-keys" in old.stderr
    commands = terminal.run("--help").output
    assert "api-keys" in commands and "signing-keys" in commands
    assert " keys " not in commands.replace("-keys ", "")


def test_a_command_on_a_database_nobody_upgraded_says_to_run_db_upgrade_and_writes_nothing(
    tmp_path: Path,
) -> None:
    database_url = f"sqlite:///{tmp_path}/fresh.db"
    env = {
        "INTELGRAPH_DATABASE_URL": database_url,
        "INTELGRAPH_DATA_DIR": str(tmp_path / "data"),
        "INTELGRAPH_OPERATOR_KEY": "igo_cli_test_operator_key",
        "INTELGRAPH_RUN_BACKGROUND_JOBS": "false",
    }
    try:
        listed = CliRunner().invoke(cli, ["tenant", "list"], env=env)
        usage = CliRunner().invoke(cli, ["signing-keys", "list"], env=env)
    finally:
        cli_services.cache_clear()

    for refused in (listed, usage):
        assert refused.exit_code == 1
        assert "SCHEMA_BEHIND" in refused.output and "intelgraph db upgrade" in flat(refused.output)
    engine = create_engine(database_url)
    try:
        assert inspect(engine).get_table_names() == []  # no migration, no key, no catalogue
    finally:
        engine.dispose()


def test_commands_after_the_first_start_write_nothing_they_were_not_asked_to(
    terminal: Terminal,
) -> None:
    engine = create_engine(terminal.settings.database_url)
    try:
        with engine.connect() as conn:
            before = conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one()
            keys_before = conn.execute(text("SELECT count(*) FROM signing_keys")).scalar_one()
        for command in (["tenant", "list"], ["signing-keys", "list"], ["jobs", "list"]):
            done = terminal.run(*command)
            assert done.exit_code == 0, done.output
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == before
            keys_after = conn.execute(text("SELECT count(*) FROM signing_keys")).scalar_one()
        assert keys_after == keys_before
    finally:
        engine.dispose()


def test_an_override_from_the_terminal_is_audited_under_the_person_who_made_it(
    terminal: Terminal,
) -> None:
    created = terminal.create_tenant("acme")
    made = terminal.run(
        "tenant", "override", "acme", "--limit", "api_rpm", "--value", "8000",
        "--reason", "launch week", "--actor", "alice",
    )  # fmt: skip
    refused = terminal.run(
        "tenant", "override", "acme", "--limit", "api_rpm", "--value", "9000"
    )  # no reason

    assert made.exit_code == 0, made.output
    assert refused.exit_code == 1 and "VALIDATION" in refused.output
    services = terminal.services()
    try:
        records = audit.list_records(services.engine, created["tenant"]["id"], 100)
        limits = services.entitlements.effective_limits(created["tenant"]["id"])
    finally:
        services.engine.dispose()
    (override,) = [r for r in records if r.action == "quota.override"]
    assert override.actor == "cli:alice" and override.reason == "launch week"
    assert limits.limits[LimitName.API_RPM].value == 8000
