"""Verify a daily usage export: manifest signature, the day, file digests, row counts,
every row.

The first problem found is reported precisely enough to act on: which file is missing,
which key is unknown or retired (by kid), which cell of which row of which file no longer
matches what was signed. A changed cell is located by comparing the row with the same row
of the other file, whose signature still holds.

The day the manifest signs must be the day the export claims to be: the folder's name
(when it is a date), the day in the file names and the day asked for, if any. A valid
export of one day copied in as another is refused, naming both days.

Keys come from the local key ring (which knows retired keys and can say so) or from a
JWKS document, e.g. one saved years ago (published keys only: a retired key is simply
unknown there).
"""

from __future__ import annotations

import base64
import csv
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any, NoReturn, Protocol

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from intelgraph.billing.exports import (
    MANIFEST_NAME,
    PARQUET_SCHEMA,
    PREDICATE_TYPE,
    SIGNATURE_SCHEME,
    csv_name,
    file_sha256,
    parquet_name,
    totals_of,
)
from intelgraph.billing.usage_rows import EXPORT_COLUMNS, UsageExportRow
from intelgraph.crypto.dsse import IN_TOTO_PAYLOAD_TYPE, IN_TOTO_STATEMENT_V1, Envelope, pae
from intelgraph.kernel.clock import isoformat
from intelgraph.kernel.errors import (
    SIGNATURE_INVALID,
    SIGNING_KEY_RETIRED,
    SIGNING_KEY_UNKNOWN,
    VALIDATION,
    IntelGraphError,
)

SIGNED_COLUMNS = EXPORT_COLUMNS[:-1]
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_EXPORT_FILE = re.compile(r"usage-(.*)\.(?:csv|parquet)")


class SignatureVerifier(Protocol):
    """What verification needs of keys (the key ring and :class:`JwksKeys` both do)."""

    def verify(self, kid: str, data: bytes, signature: bytes) -> None:
        """Raise SIGNING_KEY_UNKNOWN, SIGNING_KEY_RETIRED or SIGNATURE_INVALID."""
        ...


class JwksKeys:
    """Ed25519 public keys from a JWKS document (``OKP``/``Ed25519`` entries)."""

    def __init__(self, keys: dict[str, Ed25519PublicKey]) -> None:
        self._keys = keys

    @classmethod
    def from_document(cls, document: Any) -> JwksKeys:
        """Raises VALIDATION when the document is not a JWKS of Ed25519 keys."""
        try:
            entries = document["keys"]
            keys = {
                str(entry["kid"]): Ed25519PublicKey.from_public_bytes(_b64url_decode(entry["x"]))
                for entry in entries
                if entry.get("kty") == "OKP" and entry.get("crv") == "Ed25519"
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise IntelGraphError(VALIDATION, f"not a JWKS of Ed25519 keys: {exc}") from exc
        return cls(keys)

    @property
    def kids(self) -> list[str]:
        return sorted(self._keys)

    def verify(self, kid: str, data: bytes, signature: bytes) -> None:
        key = self._keys.get(kid)
        if key is None:
            raise IntelGraphError(
                SIGNING_KEY_UNKNOWN,
                f"unknown signing key {kid}: the JWKS does not publish it (never issued, or "
                "retired)",
                {"kid": kid},
            )
        try:
            key.verify(signature, data)
        except InvalidSignature as exc:
            raise IntelGraphError(
                SIGNATURE_INVALID, f"signature does not match the data (key {kid})", {"kid": kid}
            ) from exc


def load_jwks(source: str) -> JwksKeys:
    """A JWKS from a file path or an http(s) URL. Raises VALIDATION when unreadable."""
    try:
        if source.startswith(("http://", "https://")):
            import httpx

            response = httpx.get(source, timeout=10.0, follow_redirects=True)
            response.raise_for_status()
            raw = response.content
        else:
            raw = Path(source).read_bytes()
        document = orjson.loads(raw)
    except Exception as exc:  # network, file or JSON: all mean "cannot read the JWKS"
        raise IntelGraphError(VALIDATION, f"cannot read the JWKS from {source}: {exc}") from exc
    return JwksKeys.from_document(document)


class ProblemKind(StrEnum):
    MISSING_FILE = "missing_file"
    MALFORMED = "malformed"
    DAY_MISMATCH = "day_mismatch"
    UNKNOWN_KEY = "unknown_key"
    RETIRED_KEY = "retired_key"
    MANIFEST_SIGNATURE = "manifest_signature"
    ROW_COUNT = "row_count"
    TAMPERED_CELL = "tampered_cell"
    DIGEST_MISMATCH = "digest_mismatch"
    TOTALS_MISMATCH = "totals_mismatch"


@dataclass(frozen=True)
class VerificationProblem:
    """The first thing wrong with an export, and where."""

    kind: ProblemKind
    message: str
    file: str | None = None
    row: int | None = None  # 1-based data row (the CSV header is not a row)
    column: str | None = None
    kid: str | None = None

    def __str__(self) -> str:
        return f"[{self.kind.value}] {self.message}"


@dataclass(frozen=True)
class VerificationReport:
    directory: Path
    problem: VerificationProblem | None
    day: date | None = None
    row_count: int = 0
    signatures_checked: int = 0
    kids: tuple[str, ...] = ()
    digests: dict[str, str] = field(default_factory=dict)

    @property
    def is_ok(self) -> bool:
        return self.problem is None


class _Failed(Exception):
    def __init__(self, problem: VerificationProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


@dataclass
class _Progress:
    day: date | None = None
    row_count: int = 0
    signatures_checked: int = 0
    kids: set[str] = field(default_factory=set)
    digests: dict[str, str] = field(default_factory=dict)


def verify_export(
    directory: Path, keys: SignatureVerifier, *, expected_day: date | None = None
) -> VerificationReport:
    """Check a day's export directory (against ``expected_day`` too, when given); the
    report names the first problem, if any."""
    progress = _Progress()
    try:
        _verify(directory, keys, progress, expected_day)
        problem = None
    except _Failed as failed:
        problem = failed.problem
    return VerificationReport(
        directory=directory,
        problem=problem,
        day=progress.day,
        row_count=progress.row_count,
        signatures_checked=progress.signatures_checked,
        kids=tuple(sorted(progress.kids)),
        digests=dict(progress.digests),
    )


def _verify(
    directory: Path, keys: SignatureVerifier, progress: _Progress, expected_day: date | None
) -> None:
    if not directory.is_dir():
        _fail(ProblemKind.MISSING_FILE, f"{directory} is not a directory", file=str(directory))
    manifest = _read_manifest(directory, keys, progress)
    day, subjects, predicate = manifest
    progress.day = day
    _check_day(directory, day, expected_day)
    expected = {csv_name(day), parquet_name(day)}
    if set(subjects) != expected:
        _fail(
            ProblemKind.MALFORMED,
            f"{MANIFEST_NAME} names {sorted(subjects)}, expected {sorted(expected)}",
            file=MANIFEST_NAME,
        )
    changed: list[str] = []
    for name in (csv_name(day), parquet_name(day)):
        path = directory / name
        if not path.is_file():
            _fail(ProblemKind.MISSING_FILE, f"{name} is missing from {directory}", file=name)
        progress.digests[name] = file_sha256(path)
        if progress.digests[name] != subjects[name]:
            changed.append(name)

    csv_rows = _read_csv(directory / csv_name(day), csv_name(day) in changed)
    parquet_rows = _read_parquet(directory / parquet_name(day), parquet_name(day) in changed)
    claimed = predicate.get("rowCount")
    for name, rows in ((csv_name(day), csv_rows), (parquet_name(day), parquet_rows)):
        if len(rows) != claimed:
            _fail(
                ProblemKind.ROW_COUNT,
                f"{name} has {len(rows)} rows; the manifest says {claimed}",
                file=name,
            )
    progress.row_count = len(csv_rows)

    files = ((csv_name(day), csv_rows, parquet_rows), (parquet_name(day), parquet_rows, csv_rows))
    for index in range(len(csv_rows)):
        for name, rows, others in files:
            _verify_row(name, rows[index], others[index], keys, progress)

    for name in changed:
        _fail(
            ProblemKind.DIGEST_MISMATCH,
            f"{name}: sha256 {progress.digests[name]} differs from the manifest's "
            f"{subjects[name]} although every row verifies (rows reordered, reformatted or "
            "the file otherwise changed after signing)",
            file=name,
        )
    totals = totals_of([row.as_row() for row in csv_rows])
    if totals != predicate.get("totals"):
        _fail(
            ProblemKind.TOTALS_MISMATCH,
            f"the rows add up to {totals}; the manifest says {predicate.get('totals')}",
            file=MANIFEST_NAME,
        )


def _check_day(directory: Path, day: date, expected_day: date | None) -> None:
    """The signed day is the day asked for, the folder's day and the files' day."""
    signed = day.isoformat()
    if expected_day is not None and expected_day != day:
        _fail(
            ProblemKind.DAY_MISMATCH,
            f"the manifest is for {signed}, not {expected_day.isoformat()} (the day asked for)",
            file=MANIFEST_NAME,
        )
    folder = directory.resolve().name
    if _ISO_DAY.fullmatch(folder) and folder != signed:
        _fail(
            ProblemKind.DAY_MISMATCH,
            f"the manifest is for {signed} but the folder is named {folder}",
            file=folder,
        )
    for path in sorted(directory.iterdir()):
        named = _EXPORT_FILE.fullmatch(path.name)
        if named is not None and named.group(1) != signed:
            _fail(
                ProblemKind.DAY_MISMATCH,
                f"the manifest is for {signed} but {path.name} is named for {named.group(1)}",
                file=path.name,
            )


def _read_manifest(
    directory: Path, keys: SignatureVerifier, progress: _Progress
) -> tuple[date, dict[str, str], dict[str, Any]]:
    path = directory / MANIFEST_NAME
    if not path.is_file():
        _fail(ProblemKind.MISSING_FILE, f"{MANIFEST_NAME} is missing from {directory}", path.name)
    try:
        envelope = Envelope.from_json(orjson.loads(path.read_bytes()))
    except (orjson.JSONDecodeError, IntelGraphError) as exc:
        _fail(ProblemKind.MALFORMED, f"{MANIFEST_NAME} is not a DSSE envelope: {exc}", path.name)
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE or not envelope.signatures:
        _fail(
            ProblemKind.MALFORMED,
            f"{MANIFEST_NAME} must be a signed {IN_TOTO_PAYLOAD_TYPE} envelope",
            path.name,
        )
    kid, signature = envelope.signatures[0]
    _check_signature(
        keys,
        kid,
        pae(envelope.payload_type, envelope.payload),
        signature,
        on_mismatch=f"{MANIFEST_NAME}: the signature does not match the statement (key {kid})",
        kind=ProblemKind.MANIFEST_SIGNATURE,
        file=MANIFEST_NAME,
    )
    progress.kids.add(kid)
    try:
        statement = orjson.loads(envelope.payload)
        if statement["_type"] != IN_TOTO_STATEMENT_V1 or statement["predicateType"] != (
            PREDICATE_TYPE
        ):
            raise ValueError(f"statement type {statement['predicateType']!r}")
        subjects = {str(s["name"]): str(s["digest"]["sha256"]) for s in statement["subject"]}
        predicate: dict[str, Any] = statement["predicate"]
        day = datetime.fromisoformat(predicate["period"]["start"]).astimezone(UTC).date()
    except (KeyError, TypeError, ValueError) as exc:
        _fail(ProblemKind.MALFORMED, f"{MANIFEST_NAME}: not a usage-export statement: {exc}")
    return day, subjects, predicate


def _read_csv(path: Path, is_changed: bool) -> list[_FileRow]:
    name = path.name
    rows: list[_FileRow] = []
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None or tuple(header) != EXPORT_COLUMNS:
                _fail(
                    ProblemKind.MALFORMED,
                    f"{name}: the header is {header}, expected {list(EXPORT_COLUMNS)}",
                    name,
                    row=0,
                )
            for number, cells in enumerate(reader, start=1):
                if len(cells) != len(EXPORT_COLUMNS):
                    _fail(
                        ProblemKind.TAMPERED_CELL if is_changed else ProblemKind.MALFORMED,
                        f"{name} row {number} (line {number + 1}) has {len(cells)} cells, "
                        f"expected {len(EXPORT_COLUMNS)}",
                        name,
                        row=number,
                    )
                rows.append(_FileRow(name, number, dict(zip(EXPORT_COLUMNS, cells, strict=True))))
    except (UnicodeDecodeError, csv.Error) as exc:
        _fail(ProblemKind.MALFORMED, f"{name} cannot be read as CSV: {exc}", name)
    return rows


def _read_parquet(path: Path, is_changed: bool) -> list[_FileRow]:
    name = path.name
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        changed = " (its sha256 no longer matches the manifest)" if is_changed else ""
        _fail(ProblemKind.MALFORMED, f"{name} cannot be read as Parquet{changed}: {exc}", name)
    if not table.schema.equals(PARQUET_SCHEMA, check_metadata=False):
        for expected in PARQUET_SCHEMA:
            index = table.schema.get_field_index(expected.name)
            found = table.schema.field(index) if index >= 0 else None
            if found is None or not found.equals(expected):
                _fail(
                    ProblemKind.MALFORMED,
                    f"{name}: column {expected.name} is {found}, expected {expected}",
                    name,
                    column=expected.name,
                )
        _fail(ProblemKind.MALFORMED, f"{name}: the schema is {table.schema}", name)
    rows: list[_FileRow] = []
    for number, values in enumerate(table.to_pylist(), start=1):
        cells = {
            column: _parquet_text(column, values[column], name, number) for column in EXPORT_COLUMNS
        }
        rows.append(_FileRow(name, number, cells))
    return rows


def _parquet_text(column: str, value: Any, name: str, number: int) -> str:
    """A Parquet value as the text the CSV holds (what the signature covers)."""
    if value is None:
        _fail(ProblemKind.TAMPERED_CELL, f"{name} row {number}: {column} is null", name, number)
    if isinstance(value, datetime):
        return isoformat(value)
    if isinstance(value, Decimal):
        return f"{value:.6f}"
    return str(value)


@dataclass(frozen=True, slots=True)
class _FileRow:
    file: str
    number: int
    cells: dict[str, str]  # column -> text as in the CSV

    def signed_bytes(self) -> bytes:
        """The canonical bytes the row's signature covers; raises _CellError naming the
        column whose text is not of its type."""
        return self.as_row().signed_bytes()

    def as_row(self) -> UsageExportRow:
        cells = self.cells
        return UsageExportRow(
            tenant_id=cells["tenant_id"],
            period_start=cells["period_start"],
            period_end=cells["period_end"],
            api_calls=_whole(cells["api_calls"], "api_calls"),
            ingest_events=_whole(cells["ingest_events"], "ingest_events"),
            egress_gb=_decimal(cells["egress_gb"], "egress_gb"),
            plan=cells["plan"],
            quota_overrides=cells["quota_overrides"],
            signature=cells["signature"],
        )


class _CellError(ValueError):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column


def _whole(text: str, column: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _CellError(column, f"{text!r} is not a whole number") from None


def _decimal(text: str, column: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise _CellError(column, f"{text!r} is not a decimal number") from None


def _verify_row(
    name: str,
    row: _FileRow,
    other: _FileRow,
    keys: SignatureVerifier,
    progress: _Progress,
) -> None:
    where = f"{name} row {row.number}"
    try:
        data = row.signed_bytes()
    except _CellError as exc:
        _fail(
            ProblemKind.TAMPERED_CELL,
            f"{where} column {exc.column}: {exc}",
            name,
            row=row.number,
            column=exc.column,
        )
    parts = row.cells["signature"].split(":")
    if len(parts) != 3 or parts[0] != SIGNATURE_SCHEME:
        _fail(
            ProblemKind.TAMPERED_CELL,
            f"{where} column signature: not of the form {SIGNATURE_SCHEME}:<kid>:<signature>",
            name,
            row=row.number,
            column="signature",
        )
    kid = parts[1]
    try:
        signature = _b64url_decode(parts[2])
    except ValueError:
        signature = b""
    _check_signature(
        keys,
        kid,
        data,
        signature,
        on_mismatch="",
        kind=ProblemKind.TAMPERED_CELL,
        file=name,
        row=row.number,
        explain=lambda: _locate_change(where, row, other),
    )
    progress.kids.add(kid)
    progress.signatures_checked += 1


def _locate_change(where: str, row: _FileRow, other: _FileRow) -> tuple[str, str | None]:
    """Which column differs from the same row of the other file (the one still signed)."""
    for column in EXPORT_COLUMNS:
        if row.cells[column] != other.cells[column]:
            return (
                f"{where} column {column}: {row.cells[column]!r} is not what was signed "
                f"({other.file} has {other.cells[column]!r})",
                column,
            )
    return (
        f"{where}: the signature does not match the row's cells; a cell was changed in "
        f"both files alike, or the signature was replaced",
        None,
    )


def _check_signature(
    keys: SignatureVerifier,
    kid: str,
    data: bytes,
    signature: bytes,
    *,
    on_mismatch: str,
    kind: ProblemKind,
    file: str,
    row: int | None = None,
    explain: Callable[[], tuple[str, str | None]] | None = None,
) -> None:
    where = file if row is None else f"{file} row {row}"
    try:
        keys.verify(kid, data, signature)
    except IntelGraphError as err:
        if err.error == SIGNING_KEY_UNKNOWN:
            _fail(
                ProblemKind.UNKNOWN_KEY,
                f"{where}: signed by unknown key {kid} ({err.message})",
                file,
                row=row,
                kid=kid,
            )
        if err.error == SIGNING_KEY_RETIRED:
            _fail(
                ProblemKind.RETIRED_KEY,
                f"{where}: signed by retired key {kid} ({err.message})",
                file,
                row=row,
                kid=kid,
            )
        message, column = explain() if explain is not None else (on_mismatch, None)
        _fail(kind, message, file, row=row, column=column, kid=kid)


def _fail(
    kind: ProblemKind,
    message: str,
    file: str | None = None,
    row: int | None = None,
    column: str | None = None,
    kid: str | None = None,
) -> NoReturn:
    raise _Failed(VerificationProblem(kind, message, file, row, column, kid))


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
