"""Reading request bodies within the size limit, and undoing their encodings."""

from __future__ import annotations

from fastapi import Request

from opsloop.errors import PayloadTooLarge
from opsloop.ingest.common import decompress


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The raw body, refused with 413 as soon as it passes max_bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"the body is larger than {max_bytes} bytes", field="body")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"the body is larger than {max_bytes} bytes", field="body")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_decoded_body(request: Request, max_bytes: int) -> bytes:
    raw = await read_body(request, max_bytes)
    encoding = request.headers.get("content-encoding")
    if encoding is None and request.query_params.get("compression") == "gzip-js":
        encoding = "gzip"
    if encoding is None and raw[:2] == b"\x1f\x8b":
        encoding = "gzip"
    return decompress(raw, encoding, max_bytes * 10)
