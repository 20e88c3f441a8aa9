"""Files sent with chat messages: reading an upload within the limit, and serving one.

An upload whose declared ``Content-Length`` is past the limit is refused with 413 before a byte
of it is read; one without a length is cut off by Starlette's ``max_part_size`` (and, for
cookie-authenticated forms, by the CSRF middleware's body cap). The core checks the size and
the type again (:func:`cabinet_core.services.attachments.check_file`).
"""

from __future__ import annotations

from cabinet_core.entities import ChatAttachment
from cabinet_core.errors import N_
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from cabinet_web.inbound import declared_length
from cabinet_web.kit import cabinet_of
from cabinet_web.pages.documents import attachment_headers
from cabinet_web.problems import respond

__all__ = ["FORM_OVERHEAD", "ChatUpload", "read_upload", "serve", "too_large"]

#: Room for the text and the multipart framing around the file.
FORM_OVERHEAD = 64 * 1024

ChatUpload = tuple[str, str, bytes | None]


def _limit(request: Request) -> int:
    return cabinet_of(request).settings.attachment_max_bytes


def too_large(request: Request) -> Response | None:
    """A 413 answer when the declared body is past the attachment limit, else ``None``."""
    try:
        length = declared_length(request)
    except ValueError:
        length = None
    limit = _limit(request)
    if length is not None and length > limit + FORM_OVERHEAD:
        return respond(
            request,
            413,
            detail=N_("The file is too large (at most %(limit)s MB)."),
            params={"limit": round(limit / (1024 * 1024), 1)},
        )
    return None


async def read_upload(request: Request) -> ChatUpload:
    """The multipart form's ``body``, the file's name and its bytes (``None``: no file)."""
    form = await request.form(max_files=1, max_fields=10)
    try:
        body = form.get("body")
        upload = form.get("file")
        if isinstance(upload, UploadFile) and (upload.filename or upload.size):
            return (
                body if isinstance(body, str) else "",
                upload.filename or "",
                await upload.read(_limit(request) + 1),
            )
        return body if isinstance(body, str) else "", "", None
    finally:
        await form.close()


def serve(attachment: ChatAttachment, data: bytes, *, download: bool) -> Response:
    """The file with its sniffed type, never run as a page."""
    return Response(
        data,
        media_type=attachment.content_type,
        headers=attachment_headers(attachment.filename, download=download),
    )
