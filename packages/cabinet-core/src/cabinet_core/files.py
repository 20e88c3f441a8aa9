"""Uploaded files on disk, stored by their content.

A file is written once under its SHA-256 (``ab/cd/abcdef…``), so the same scan attached twice
takes the space once, and no path is ever built from anything a user typed: the name the user
gave is only metadata in the database. Writes go to a temporary file in the same directory and
are renamed into place, so a reader never sees half a file and a crash leaves no torn one.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from pathlib import Path

__all__ = ["FileStore", "safe_filename", "sniff_content_type"]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")

# The leading bytes of each file type users may attach (checked on the content, never trusting
# the name or the browser's declared type).
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)

_EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}

MAX_FILENAME = 200


def sniff_content_type(data: bytes) -> str | None:
    """``application/pdf``, ``image/jpeg`` or ``image/png`` from the content, else ``None``."""
    for signature, content_type in _SIGNATURES:
        if data.startswith(signature):
            return content_type
    return None


def safe_filename(name: str, content_type: str) -> str:
    """A name safe to show and to put in ``Content-Disposition``.

    Directory parts, control characters, quotes and path separators go; Polish letters stay
    (NFC). The extension follows the sniffed type: ``scan.jpeg`` holding a PNG is offered back
    as ``scan.png``, ``invoice.exe`` holding a PDF as ``invoice.exe.pdf``. An empty result
    becomes ``attachment`` plus the extension.
    """
    name = unicodedata.normalize("NFC", name or "")
    # Browsers on Windows send "C:\\Users\\…\\scan.pdf"; keep the last part only.
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(
        " " if unicodedata.category(char).startswith(("C", "Z")) else char for char in name
    )
    name = re.sub(r'["<>:|?*;]', "", name)
    name = " ".join(name.split()).strip(" .")
    extension = _EXTENSIONS.get(content_type, "")
    stem, dot, ext = name.rpartition(".")
    if dot and ext.lower() in {"pdf", "jpg", "jpeg", "png"}:
        name = stem.strip(" .")
    name = name[: MAX_FILENAME - len(extension)] or "attachment"
    return name + extension


class FileStore:
    """Content-addressed files under ``root`` (``settings.files_dir``)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_of(self, sha256: str) -> Path:
        """Where the file with this digest lives; refuses anything that is not a digest."""
        if not _SHA256.match(sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        """Store ``data`` (once) and return its SHA-256 hex digest."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path_of(digest)
        if target.exists() and target.stat().st_size == len(data):
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            # Atomic on POSIX: a concurrent writer of the same content simply wins the race
            # with identical bytes.
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return digest

    def get(self, sha256: str) -> bytes:
        """The bytes stored under ``sha256``; :class:`FileNotFoundError` when missing, and
        :class:`OSError` when the file on disk no longer matches its digest."""
        data = self.path_of(sha256).read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise OSError(f"stored file {sha256} is corrupt")
        return data

    def exists(self, sha256: str) -> bool:
        """Whether a file with this digest is stored."""
        return self.path_of(sha256).is_file()
