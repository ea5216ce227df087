"""Reading request bodies with a size limit and a content-type check."""

from __future__ import annotations

from starlette.requests import Request

from intelgraph.kernel.errors import PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, IntelGraphError


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
    """The whole body, refusing (413) as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> IntelGraphError:
    return IntelGraphError(
        PAYLOAD_TOO_LARGE,
        f"the body is larger than the limit of {limit} bytes; split it into smaller batches",
        {"limitBytes": limit},
    )
