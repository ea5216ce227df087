"""An export verifies for years after its key was rotated (with the ring or a saved JWKS,
offline), stops verifying only when its key is retired as compromised, and verifies only
as the day it was signed for."""

from __future__ import annotations

import base64
import copy
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from google.protobuf import json_format
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement
from securesystemslib.dsse import Envelope as SslibEnvelope
from securesystemslib.signer import SSlibKey
from starlette.testclient import TestClient
from typer.testing import CliRunner

from intelgraph.app import Services, create_app
from intelgraph.audit.service import list_records
from intelgraph.billing.exports import ExportResult
from intelgraph.billing.verify import JwksKeys, ProblemKind, verify_export
from intelgraph.bootstrap import start_services
from intelgraph.cli.context import services as cli_services
from intelgraph.cli.main import app as cli
from intelgraph.kernel.clock import ManualClock
from intelgraph.kernel.tenancy import local_operator

from .export_support import export_settings

DAY = date(2026, 3, 9)
DAY_START = datetime(2026, 3, 9, tzinfo=UTC)
OPERATOR_KEY = "igo_lifecycle_test_operator_key"
OPERATOR = local_operator("test")  # the person at the CLI: a platform-admin
JWKS_PATH = "/.well-known/intelgraph/jwks.json"
TWO_YEARS = timedelta(days=2 * 365).total_seconds()
# Nothing listens here: a command that needs the database fails.
OFFLINE_DATABASE = "postgresql+psycopg://nobody@127.0.0.1:9/offline"


@dataclass
class LifecycleApp:
    client: TestClient
    services: Services
    clock: ManualClock
    env: dict[str, str]

    def export(self) -> ExportResult:
        self.services.tenants.create_tenant(
            OPERATOR, name="Lifecycle", slug=f"l-{secrets.token_hex(4)}", plan="standard"
        )
        self.clock.advance(
            (DAY_START + timedelta(days=1, minutes=30) - self.clock.now()).total_seconds()
        )
        return self.services.exports.export(DAY, OPERATOR)

    def served_jwks(self) -> dict[str, Any]:
        response = self.client.get(JWKS_PATH)
        assert response.status_code == 200, response.text
        document: dict[str, Any] = response.json()
        return document

    def cli(self, *args: str, env: dict[str, str] | None = None) -> Any:
        cli_services.cache_clear()
        try:
            return CliRunner().invoke(cli, list(args), env=env or self.env)
        finally:
            cli_services.cache_clear()


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LifecycleApp]:
    """A database of its own (the key ring is platform-wide) and a clock the test moves."""
    url = (
        f"sqlite:///{tmp_path}/lifecycle.db"
        if request.param == "sqlite"
        else request.getfixturevalue("fresh_postgres_url")
    )
    settings, env = export_settings(url, tmp_path, OPERATOR_KEY)
    clock = ManualClock(DAY_START + timedelta(hours=8))
    services = start_services(settings, clock=clock)
    with TestClient(create_app(services=services)) as client:
        yield LifecycleApp(client, services, clock, env)
    services.engine.dispose()


def one_line(output: str) -> str:
    return " ".join(output.split())


# --- old exports verify for years -------------------------------------------------------------


def test_an_export_verifies_two_years_after_its_key_was_rotated(app: LifecycleApp) -> None:
    result = app.export()
    new_kid = app.services.keyring.rotate(principal=OPERATOR, reason="scheduled")
    app.clock.advance(TWO_YEARS)

    by_ring = verify_export(result.directory, app.services.keyring)
    served = app.served_jwks()
    by_jwks = verify_export(result.directory, JwksKeys.from_document(served))

    assert by_ring.is_ok and by_jwks.is_ok, (by_ring.problem, by_jwks.problem)
    marks = {key["kid"]: key for key in served["keys"]}
    assert marks[result.kid]["ig_status"] == "rotated" and marks[result.kid]["use"] == "sig"
    assert "ig_rotated_at" in marks[result.kid]
    assert marks[new_kid]["ig_status"] == "active"


def test_an_auditor_verifies_offline_with_a_jwks_saved_years_later(
    app: LifecycleApp, tmp_path: Path
) -> None:
    result = app.export()
    app.services.keyring.rotate(principal=OPERATOR, reason="scheduled")
    app.clock.advance(TWO_YEARS)
    saved = tmp_path / "auditor" / "jwks.json"
    saved.parent.mkdir()
    saved.write_bytes(orjson.dumps(app.served_jwks()))
    offline = app.env | {
        "INTELGRAPH_DATABASE_URL": OFFLINE_DATABASE,
        "INTELGRAPH_DATA_DIR": str(tmp_path / "auditor" / "no-data"),
    }

    verified = app.cli("export", "verify", str(result.directory), "--jwks", str(saved), env=offline)

    assert verified.exit_code == 0, verified.output
    assert f"OK {DAY.isoformat()}" in verified.output and result.kid in one_line(verified.output)
    assert not (tmp_path / "auditor" / "no-data").exists()


def test_our_manifest_verifies_with_securesystemslib_and_is_an_in_toto_statement(
    app: LifecycleApp,
) -> None:
    result = app.export()
    manifest = orjson.loads((result.directory / "manifest.json").read_bytes())
    jwk = next(key for key in app.served_jwks()["keys"] if key["kid"] == result.kid)
    public = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
    key = SSlibKey(result.kid, "ed25519", "ed25519", {"public": public.hex()})

    envelope = SslibEnvelope.from_dict(copy.deepcopy(manifest))
    accepted = envelope.verify([key], threshold=1)
    parsed = json_format.Parse(envelope.payload, statement_pb2.Statement())  # type: ignore[attr-defined]
    Statement.copy_from_pb(parsed).validate()

    assert list(accepted) == [result.kid]
    assert {subject.name for subject in parsed.subject} == {
        f"usage-{DAY.isoformat()}.csv",
        f"usage-{DAY.isoformat()}.parquet",
    }


# --- only retirement stops verification -------------------------------------------------------


def test_retire_compromised_stops_verification_with_a_clear_message_and_is_audited(
    app: LifecycleApp,
) -> None:
    result = app.export()
    app.services.keyring.rotate(principal=OPERATOR, reason="scheduled")

    retired = app.cli("keys", "retire", result.kid, "--reason", "compromised")
    failed = app.cli("export", "verify", str(result.directory))

    assert retired.exit_code == 0, retired.output
    assert failed.exit_code == 1
    message = one_line(failed.output)
    assert "retired_key" in message and result.kid in message and "compromised" in message
    assert "Traceback" not in failed.output
    assert result.kid not in {key["kid"] for key in app.served_jwks()["keys"]}
    record = next(r for r in list_records(app.services.engine) if r.action == "signing_key.retire")
    assert record.reason == "compromised" and record.target == f"signing_key:{result.kid}"


def test_retire_without_a_reason_is_refused(app: LifecycleApp) -> None:
    result = app.export()
    app.services.keyring.rotate(principal=OPERATOR)

    refused = app.cli("keys", "retire", result.kid)

    assert refused.exit_code == 2 and "--reason" in refused.output
    assert verify_export(result.directory, app.services.keyring).is_ok


def test_keys_list_shows_a_rotated_key_with_its_rotation_time(app: LifecycleApp) -> None:
    result = app.export()
    app.services.keyring.rotate(principal=OPERATOR)

    listed = app.cli("keys", "list")

    assert listed.exit_code == 0, listed.output
    line = next(line for line in listed.output.splitlines() if result.kid in line)
    assert "rotated" in line and "2026-03-10 00:30" in line


# --- verify checks the day ------------------------------------------------------------------


def test_an_export_in_a_folder_named_for_another_day_is_refused_naming_both(
    app: LifecycleApp, tmp_path: Path
) -> None:
    result = app.export()
    moved = tmp_path / "copied" / "2026-03-10"
    shutil.copytree(result.directory, moved)

    problem = verify_export(moved, app.services.keyring).problem

    assert problem is not None and problem.kind is ProblemKind.DAY_MISMATCH
    assert "2026-03-09" in problem.message and "2026-03-10" in problem.message


def test_export_files_named_for_another_day_are_refused_naming_both(
    app: LifecycleApp, tmp_path: Path
) -> None:
    result = app.export()
    copied = tmp_path / "copied" / "2026-03-09"
    shutil.copytree(result.directory, copied)
    (copied / "usage-2026-03-09.csv").rename(copied / "usage-2026-03-10.csv")

    problem = verify_export(copied, app.services.keyring).problem

    assert problem is not None and problem.kind is ProblemKind.DAY_MISMATCH
    assert problem.file == "usage-2026-03-10.csv"
    assert "2026-03-09" in problem.message and "2026-03-10" in problem.message


def test_verify_date_must_be_the_signed_day(app: LifecycleApp) -> None:
    result = app.export()

    wrong = app.cli("export", "verify", str(result.directory), "--date", "2026-03-10")
    right = app.cli("export", "verify", str(result.directory), "--date", "2026-03-09")

    assert wrong.exit_code == 1
    message = one_line(wrong.output)
    assert "day_mismatch" in message and "2026-03-09" in message and "2026-03-10" in message
    assert right.exit_code == 0, right.output


def test_a_copy_in_a_folder_not_named_as_a_day_still_verifies(
    app: LifecycleApp, tmp_path: Path
) -> None:
    result = app.export()
    copied = tmp_path / "evidence-for-dispute-17"
    shutil.copytree(result.directory, copied)

    assert verify_export(copied, app.services.keyring).is_ok
    assert not verify_export(copied, app.services.keyring, expected_day=date(2026, 3, 8)).is_ok
