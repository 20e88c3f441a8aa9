"""The renderer seam: turning a document into bytes of some media type (a PDF, an XML file)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import attrs

if TYPE_CHECKING:
    from cabinet_core.app import Cabinet
    from cabinet_core.entities import Client, Document, Template


@attrs.frozen(kw_only=True)
class Rendered:
    """A rendered file, ready to download or attach."""

    content: bytes
    media_type: str
    filename: str


@runtime_checkable
class Renderer(Protocol):
    """Renders some document types to one media type."""

    name: str
    media_type: str
    document_types: Sequence[str]

    def render(
        self,
        cabinet: Cabinet,
        document: Document,
        *,
        client: Client,
        template: Template | None,
        language: str,
    ) -> Rendered:
        """Render ``document`` in ``language`` ("pl", "en" or "pl+en")."""
        ...
