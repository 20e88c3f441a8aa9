"""The firm's logo, read from a local file or a ``data:`` URL — never from the network.

A rendering must not hang on, leak to, or change with a remote server, so an ``http(s)`` logo
URL (meant for the web pages) is ignored here. A logo that cannot be read is left out rather
than making every document unprintable because of a branding typo.
"""

from __future__ import annotations

import base64
import binascii
import io
from pathlib import Path
from urllib.parse import unquote, urlsplit

from reportlab.lib.utils import ImageReader

#: Logos larger than this are not embedded (a branding setting, not a document payload).
MAX_LOGO_BYTES = 2 * 1024 * 1024


def logo_bytes(logo_url: str | None) -> bytes | None:
    """The logo's bytes from a ``data:`` URL, a ``file:`` URL or a local path; else ``None``."""
    if not logo_url or not logo_url.strip():
        return None
    value = logo_url.strip()
    if value.startswith("data:"):
        header, _, payload = value.partition(",")
        try:
            if header.endswith(";base64"):
                data = base64.b64decode(payload, validate=True)
            else:
                data = unquote(payload).encode("latin-1")
        except (binascii.Error, ValueError):
            return None
        return data if len(data) <= MAX_LOGO_BYTES else None
    scheme = urlsplit(value).scheme.lower()
    if scheme == "file":
        path = Path(unquote(urlsplit(value).path))
    elif scheme and len(scheme) > 1:
        return None  # http, https, ftp …: never fetched (a one-letter scheme is a drive)
    else:
        path = Path(value)
    try:
        if not path.is_file() or path.stat().st_size > MAX_LOGO_BYTES:
            return None
        return path.read_bytes()
    except OSError:
        return None


def logo_image(logo_url: str | None) -> ImageReader | None:
    """The logo as a reportlab image, or ``None`` when there is none or it is not an image."""
    data = logo_bytes(logo_url)
    if data is None:
        return None
    try:
        image = ImageReader(io.BytesIO(data))
        image.getSize()
    except Exception:  # Pillow raises many types for a file that is no image
        return None
    return image
