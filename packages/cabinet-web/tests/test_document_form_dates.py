"""Dates the cabinet cannot take, typed in the document form (issue #10 point 7): a message at
the field, never a 500, and nothing saved."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from cabinet_core.app import Cabinet
from cabinet_core.storage import DocumentQuery
from starlette.testclient import TestClient
from test_document_form import cost_invoice_form
from web_support import World


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (
            {"issue_date": "0001-01-01", "sale_date": "", "receipt_date": "", "due_date": ""},
            "issue_date",
        ),
        (
            {"issue_date": "2010-12-31", "sale_date": "", "receipt_date": "", "due_date": ""},
            "issue_date",
        ),
        ({"sale_date": "0001-01-02"}, "sale_date"),
        (
            {
                "issue_date": (date.today() + timedelta(days=1)).isoformat(),
                "sale_date": "",
                "receipt_date": "",
                "due_date": "",
            },
            "issue_date",
        ),
    ],
)
def test_a_date_out_of_range_is_shown_at_its_field(
    cabinet: Cabinet, client_web: TestClient, world: World, changes: dict[str, str], field: str
) -> None:
    response = client_web.post("/documents/new", data=cost_invoice_form(client_web, **changes))
    assert response.status_code == 422
    assert f'data-error-for="{field}"' in response.text
    query = DocumentQuery(client_ids=(world.client.id or 0,))
    with cabinet.store.transaction(readonly=True) as tx:
        assert tx.list_documents(query).total == 0
