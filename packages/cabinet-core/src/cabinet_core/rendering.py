"""The renderer seam: turning a document into bytes of some media type (a PDF, an XML file)."""

from __future__ import annotations

from collections.abc import Container
from typing import TYPE_CHECKING, Final, Protocol, final, runtime_checkable

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


@final
class AllDocumentTypes(Container[str]):
    """Every document type, including ones registered later by plugins (see
    :data:`ALL_DOCUMENT_TYPES`)."""

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str)

    def __repr__(self) -> str:
        return "ALL_DOCUMENT_TYPES"


#: A renderer's ``document_types`` when it lays out any type (cabinet-pdf falls back to a
#: layout built from the type's declared fields).
ALL_DOCUMENT_TYPES: Final = AllDocumentTypes()


@runtime_checkable
class Renderer(Protocol):
    """Renders some document types to one media type.

    ``document_types`` holds the keys it handles (a tuple), or :data:`ALL_DOCUMENT_TYPES`.
    """

    name: str
    media_type: str
    document_types: Container[str]

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
