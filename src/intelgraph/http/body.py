"""Reading request bodies: a size limit, Content-Encoding gzip, a content-type check, and
JSON that both stores can keep (kernel/storable.py)."""

from __future__ import annotations

import zlib
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from intelgraph.kernel import storable
from intelgraph.kernel.errors import (
    MALFORMED_REQUEST,
    PAYLOAD_TOO_LARGE,
    UNSUPPORTED_MEDIA_TYPE,
    IntelGraphError,
)

GZIP_ENCODINGS = frozenset({"gzip", "x-gzip"})  # x-gzip: RFC 9110 §8.4.1.3
INFLATE_STEP = 64 * 1024
"""Most bytes one decompression step produces: a gzip bomb is stopped within one step of
the limit, having decompressed no more than that."""


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def require_media_type(request: Request, accepted: tuple[str, ...]) -> None:
    """Raise UNSUPPORTED_MEDIA_TYPE unless the Content-Type is one of ``accepted``."""
    found = media_type(request)
    if found not in accepted:
        raise IntelGraphError(
            UNSUPPORTED_MEDIA_TYPE,
            f"Content-Type {found or '(none)'!r} is not accepted here; send {accepted[0]}",
            {"accepted": list(accepted)},
        )


async def read_limited(request: Request, limit: int) -> bytes:
    """The whole body, gunzipped when sent with ``Content-Encoding: gzip``.

    Refuses (413) as soon as the body, as sent or decompressed, is known to exceed ``limit``
    bytes; the rest is neither read nor decompressed. Raises UNSUPPORTED_MEDIA_TYPE for
    another Content-Encoding and MALFORMED_REQUEST for a corrupt gzip stream.
    """
    is_gzip = _is_gzip(request)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    inflater = GzipInflater(limit) if is_gzip else None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        if inflater is None:
            chunks.append(chunk)
        elif chunk:
            # Off the event loop: one chunk can inflate to the whole limit.
            chunks += await run_in_threadpool(inflater.feed, chunk)
    if inflater is not None:
        inflater.finish()
    return b"".join(chunks)


async def read_json_object(
    request: Request, limit: int, *, required: bool = True
) -> dict[str, Any]:
    """The body as a JSON object whose every string and number can be stored.

    An empty body is ``{}`` when not ``required``. Raises UNSUPPORTED_MEDIA_TYPE unless
    application/json, MALFORMED_REQUEST for anything but a JSON object, UNSTORABLE_VALUE
    naming the field (``roles.0``) with text or a number neither store can keep.
    """
    raw = await read_limited(request, limit)
    if not raw.strip() and not required:
        return {}
    require_media_type(request, ("application/json",))
    return decode_json_object(raw, "the body must be a JSON object")


def decode_json_object(raw: bytes, not_an_object: str) -> dict[str, Any]:
    """``raw`` decoded as a JSON object of storable values.

    Raises MALFORMED_REQUEST (``not_an_object`` when it is JSON but no object) or
    UNSTORABLE_VALUE naming the field.
    """
    try:
        body = storable.loads(raw)
    except storable.UnstorableError as exc:
        raise exc.found.to_error() from None
    except ValueError as exc:
        raise IntelGraphError(MALFORMED_REQUEST, f"the body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise IntelGraphError(MALFORMED_REQUEST, not_an_object)
    return body


class GzipInflater:
    """Streaming gzip decoding (members one after another, RFC 1952) that refuses (413)
    once its output passes ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.produced = 0
        self._inflater = zlib.decompressobj(wbits=31)

    def feed(self, data: bytes) -> list[bytes]:
        """The bytes ``data`` decompresses to (so far)."""
        pieces: list[bytes] = []
        if self._inflater.eof:  # a new member follows
            self._inflater = zlib.decompressobj(wbits=31)
        pending = data
        while True:
            try:
                piece = self._inflater.decompress(pending, INFLATE_STEP)
            except zlib.error as exc:
                raise _corrupt(str(exc)) from None
            self.produced += len(piece)
            if self.produced > self.limit:
                raise _too_large(self.limit, "decompresses to more than")
            pieces.append(piece)
            if self._inflater.eof:
                pending = self._inflater.unused_data
                if not pending:
                    return pieces
                self._inflater = zlib.decompressobj(wbits=31)
                continue
            pending = self._inflater.unconsumed_tail
            if not pending and len(piece) < INFLATE_STEP:  # all input used, all output given
                return pieces

    def finish(self) -> None:
        """Raise MALFORMED_REQUEST unless the stream ended with a complete member."""
        if not self._inflater.eof:
            raise _corrupt("the stream ends before its gzip trailer")


def _is_gzip(request: Request) -> bool:
    """Whether the body is gzip; raises UNSUPPORTED_MEDIA_TYPE for any other encoding."""
    header = request.headers.get("content-encoding")
    if header is None:
        return False
    codings = [c.strip().lower() for c in header.split(",") if c.strip().lower() != "identity"]
    if not codings:
        return False
    if len(codings) == 1 and codings[0] in GZIP_ENCODINGS:
        return True
    raise IntelGraphError(
        UNSUPPORTED_MEDIA_TYPE,
        f"Content-Encoding {header!r} is not accepted; send the body compressed with gzip "
        "(Content-Encoding: gzip) or uncompressed",
        {"acceptedEncodings": ["gzip", "identity"]},
    )


def _corrupt(problem: str) -> IntelGraphError:
    return IntelGraphError(
        MALFORMED_REQUEST,
        f"the body is not valid gzip although sent with Content-Encoding: gzip ({problem}); "
        "send it gzip-compressed, or without Content-Encoding",
        {"contentEncoding": "gzip"},
    )


def _too_large(limit: int, how: str = "is larger than") -> IntelGraphError:
    return IntelGraphError(
        PAYLOAD_TOO_LARGE,
        f"the body {how} the limit of {limit} bytes; split it into smaller batches",
        {"limitBytes": limit},
    )
