"""Loading a large NDJSON stream as a sequence of atomic batches (CLI and demo seeding)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from intelgraph.graph.ingest import IngestBatch, LineError, parse_ndjson
from intelgraph.graph.service import GraphService
from intelgraph.kernel.errors import IntelGraphError
from intelgraph.kernel.tenancy import Principal


@dataclass
class BulkReport:
    lines_read: int = 0
    entities: int = 0
    relationships: int = 0
    rejected: list[LineError] = field(default_factory=list)
    refused_batch: tuple[int, int] | None = None  # first and last line of a refused batch
    refusal: IntelGraphError | None = None


def batches(lines: Iterable[bytes], size: int) -> Iterator[list[bytes]]:
    chunk: list[bytes] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def ingest_stream(
    graph: GraphService,
    principal: Principal,
    lines: Iterable[bytes],
    *,
    batch_size: int = 1000,
    partial: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> BulkReport:
    """Ingest ``lines`` in batches; stops at the first refused batch (earlier ones stay)."""
    report = BulkReport()
    for chunk in batches(lines, batch_size):
        first_line = report.lines_read + 1
        batch = _renumbered(parse_ndjson(b"\n".join(c.rstrip(b"\n") for c in chunk)), first_line)
        try:
            result = graph.ingest(principal, batch, partial=partial)
        except IntelGraphError as err:
            report.refused_batch = (first_line, first_line + len(chunk) - 1)
            report.refusal = err
            return report
        report.lines_read += len(chunk)
        report.entities += result.body["accepted"]["entities"]
        report.relationships += result.body["accepted"]["relationships"]
        report.rejected += [
            LineError(e["line"], e["field"], e["reason"]) for e in result.body["lineErrors"]
        ]
        if on_batch is not None:
            on_batch(len(chunk))
    return report


def _renumbered(batch: IngestBatch, first_line: int) -> IngestBatch:
    """Line numbers relative to the whole stream, not to the batch."""
    offset = first_line - 1
    return IngestBatch(
        entities=[(n + offset, line) for n, line in batch.entities],
        relationships=[(n + offset, line) for n, line in batch.relationships],
        errors=[LineError(e.line + offset, e.field, e.reason) for e in batch.errors],
    )
