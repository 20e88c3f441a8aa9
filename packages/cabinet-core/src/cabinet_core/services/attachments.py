"""Attachments: the original files behind documents (a scanned cost invoice, a signed contract).

Only PDF, JPEG and PNG are accepted, recognised by their first bytes rather than by the name
or the browser's word; the size is capped by ``settings.attachment_max_bytes``. Files go to the
content-addressed :class:`~cabinet_core.files.FileStore` before the database row is written, so
a row never points at a missing file; a failed transaction leaves at most an unreferenced file.
Whoever may see a document sees its attachments; adding and removing them follows the
document's own rule: only while its state is editable, by those who may edit the client's data.
"""

from __future__ import annotations

import builtins

from cabinet_core import access
from cabinet_core.entities import Actor, Attachment, Document
from cabinet_core.errors import N_, Conflict, NotFound, ValidationError
from cabinet_core.files import FileStore, safe_filename, sniff_content_type
from cabinet_core.services._base import Service
from cabinet_core.storage import Tx


def check_file(data: bytes, limit: int) -> str:
    """The sniffed content type of an uploaded file, or a field error on ``file`` (empty,
    larger than ``limit`` bytes, or not a PDF, JPEG or PNG). Chat attachments use it too."""
    if not data:
        raise ValidationError.single("file", "required", N_("Choose a file to attach."))
    if len(data) > limit:
        raise ValidationError.single(
            "file",
            "too_large",
            N_("The file is too large (at most %(limit)s MB)."),
            limit=round(limit / (1024 * 1024), 1),
        )
    content_type = sniff_content_type(data)
    if content_type is None:
        raise ValidationError.single("file", "type", N_("Attach a PDF, JPG or PNG file."))
    return content_type


class AttachmentService(Service):
    """``cabinet.attachments``: add, list, open and delete a document's files."""

    @property
    def files(self) -> FileStore:
        return FileStore(self.cabinet.settings.files_dir)

    def _document(self, tx: Tx, actor: Actor, document_id: int, *, write: bool) -> Document:
        document = tx.get_document(document_id)
        if document is None:
            raise NotFound(N_("Not found"), entity="document", id=document_id)
        try:
            access.client_for(tx, actor, document.client_id, write=write)
        except NotFound:
            raise NotFound(N_("Not found"), entity="document", id=document_id) from None
        return document

    def _require_editable(self, document: Document) -> None:
        workflow = self.cabinet.document_type(document.doc_type).workflow
        if not workflow.state(document.status).editable:
            raise Conflict(
                N_("Attachments can only be changed while the document can be edited"),
                status=document.status,
            )

    def _attachment(self, tx: Tx, actor: Actor, attachment_id: int, *, write: bool) -> Attachment:
        attachment = tx.get_attachment(attachment_id)
        if attachment is None:
            raise NotFound(N_("Not found"), entity="attachment", id=attachment_id)
        try:
            self._document(tx, actor, attachment.document_id, write=write)
        except NotFound:
            raise NotFound(N_("Not found"), entity="attachment", id=attachment_id) from None
        return attachment

    def _check(self, data: bytes) -> str:
        return check_file(data, self.cabinet.settings.attachment_max_bytes)

    def add(self, actor: Actor, document_id: int, *, filename: str, data: bytes) -> Attachment:
        """Attach ``data`` to an editable document; ``filename`` is only shown, never trusted."""
        with self.store.transaction(readonly=True) as tx:
            document = self._document(tx, actor, document_id, write=True)
        self._require_editable(document)
        content_type = self._check(data)
        # The file first, outside any transaction: a row must never point at a missing file.
        digest = self.files.put(data)
        with self.store.transaction() as tx:
            # Read again under the write lock: the document may have moved on meanwhile.
            document = self._document(tx, actor, document_id, write=True)
            self._require_editable(document)
            stored = tx.add_attachment(
                Attachment(
                    client_id=document.client_id,
                    document_id=document_id,
                    filename=safe_filename(filename, content_type),
                    content_type=content_type,
                    size=len(data),
                    sha256=digest,
                    created_by=actor.user_id,
                    created_at=self.now(),
                )
            )
            self.record(
                tx,
                actor,
                action="attachment.add",
                entity="document",
                entity_id=document_id,
                client_id=document.client_id,
                detail={
                    "attachment_id": stored.id,
                    "filename": stored.filename,
                    "size": stored.size,
                    "sha256": stored.sha256,
                },
            )
        return stored

    def list(self, actor: Actor, document_id: int) -> builtins.list[Attachment]:
        """The attachments of a document the actor may see, oldest first."""
        with self.store.transaction(readonly=True) as tx:
            self._document(tx, actor, document_id, write=False)
            return tx.list_attachments(document_id)

    def get(self, actor: Actor, attachment_id: int) -> Attachment:
        """One attachment's record (no bytes)."""
        with self.store.transaction(readonly=True) as tx:
            return self._attachment(tx, actor, attachment_id, write=False)

    def open(self, actor: Actor, attachment_id: int) -> tuple[Attachment, bytes]:
        """The attachment and its bytes (checked against the stored digest)."""
        attachment = self.get(actor, attachment_id)
        try:
            data = self.files.get(attachment.sha256)
        except FileNotFoundError:
            raise NotFound(
                N_("The attached file is missing"), entity="attachment", id=attachment_id
            ) from None
        return attachment, data

    def delete(self, actor: Actor, attachment_id: int) -> None:
        """Remove an attachment from an editable document (the file may be shared: it stays)."""
        with self.store.transaction() as tx:
            attachment = self._attachment(tx, actor, attachment_id, write=True)
            document = self._document(tx, actor, attachment.document_id, write=True)
            self._require_editable(document)
            tx.delete_attachment(attachment_id)
            self.record(
                tx,
                actor,
                action="attachment.delete",
                entity="document",
                entity_id=attachment.document_id,
                client_id=attachment.client_id,
                detail={"attachment_id": attachment_id, "filename": attachment.filename},
            )
