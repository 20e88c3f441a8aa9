"""Every route of the cabinet, classified for the tenant-isolation crawler.

A route the crawler meets in the app's routing table (or an operation of the OpenAPI document)
that is not in :data:`ROUTES` fails the crawl: whoever adds a route says here how to attack it.

Kinds:

``public``
    reachable without signing in by design (sign-in, password links, a CRM's calls, the
    OpenAPI document); crawled anonymously with junk: never a 500, never B's data.
``own``
    names no record in its path: lists what the caller may see, or writes into the caller's
    own client. Crawled by A's user and A's manager with every one of B's ids in the query
    string (``client_id=B&counterparty_id=…``) and, for writes, in the body; the answer may be
    anything but a 500, must show none of B's data, and B's data must not change.
``self``
    acts on the caller's own account or session (sign-out, password, second factor): reads
    are crawled like ``own``; writes are not sent, since they would end the crawler's session
    and name nobody else's record.
``stream``
    a live event stream of what the caller may see; not opened (it never ends), its
    conversation streams are ``object`` routes.
``object``
    names records in its path. Each record of B (and A's records mixed with B's) is tried by
    A's user, A's manager and an anonymous visitor: the answer must be 403 or 404 (a visitor
    may also be sent to sign in), or word for word the answer for ids no record has (a body
    refused before any lookup), with none of B's data, and B's data must be unchanged after
    every write. B's user or the admin must reach at least one of them (else the crawler's ids
    would prove nothing), unless ``control`` is off for a route only some seeded state reaches.

``params`` names what each path parameter is: a kind of B's record (``document``,
``attachment``, ``chat_attachment``, ``client``, ``counterparty``, ``desk``, ``product``,
``report``, ``slip``, ``job``, ``notification``, ``user``, ``token``, ``issued``, ``draft``), or
a tuple of literal values.
Parameters named like the kinds need no entry (``doc_id`` is a document, ``client_id`` a
client …).
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

#: Every workflow move of the built-in document types and the cash report.
TRANSITION_KEYS = (
    "issue",
    "send",
    "mark_paid",
    "cancel",
    "submit",
    "approve",
    "return",
    "resubmit",
    "book",
    "convert",
    "ksef_reject",
    "accept",
    "reject",
    "sign",
    "complete",
    "terminate",
    "close",
    "reopen",
)

#: A path parameter's kind when the route says nothing else.
DEFAULT_PARAMS: Mapping[str, str | tuple[str, ...]] = {
    "doc_id": "document",
    "att_id": "attachment",
    "client_id": "client",
    "desk_id": "desk",
    "product_id": "product",
    "counterparty_id": "counterparty",
    "report_id": "report",
    "slip_id": "slip",
    "job_id": "job",
    "notification_id": "notification",
    "user_id": "user",
    "token_id": "token",
    "key": TRANSITION_KEYS,
}


@attrs.frozen
class Rule:
    kind: str
    params: Mapping[str, str | tuple[str, ...]] = attrs.field(factory=dict)
    #: Whether B's user or the admin must reach the route with B's ids (``object`` only).
    control: bool = True
    #: A query string every request to the route carries (what a valid request needs).
    query: str = ""

    def param(self, name: str) -> str | tuple[str, ...]:
        if name in self.params:
            return self.params[name]
        if name in DEFAULT_PARAMS:
            return DEFAULT_PARAMS[name]
        raise KeyError(f"no kind for the path parameter {name!r}: say it in the route's rule")


PUBLIC = Rule("public")
OWN = Rule("own")
SELF = Rule("self")
STREAM = Rule("stream")
OBJECT = Rule("object")
#: Routes only a stored KSeF submission or a finished file makes reachable; the crawler's
#: seed has none for them, so the control is off (the denial is still checked).
OBJECT_NO_CONTROL = Rule("object", control=False)
#: A conversation's live stream: the denial is checked, the control is not (B's own stream
#: is open-ended by design).
EVENTS = Rule("object", control=False)
ISSUED = Rule("object", {"doc_id": "issued"})
DRAFT = Rule("object", {"doc_id": "draft"})
CHAT_FILE = Rule("object", {"att_id": "chat_attachment"})
#: Firm-wide records (contract templates, news): no client owns them.
TEMPLATE = Rule("own", {"template_id": ("1", "2"), "version": ("1",)})
NEWS = Rule("own", {"news_id": ("1",)})
SECRET = Rule("public", {"secret": ("not-a-link",)})
HOOK = Rule("public", {"backend": ("bitrix24", "webhook", "nothing"), "path": ("x",)})
#: A JPK file needs the tax office it is addressed to.
JPK = Rule("object", query="tax_office=1471")
VAT_FORMAT = Rule("object", {"format": ("csv", "pdf")})
REPORT_KIND = Rule("own", {"kind": ("accounts", "payments")})
FORMAT_OWN = Rule("own", {"format": ("csv", "pdf")})
#: Firm-wide tax years (no client owns them).
TAX_YEAR = Rule("own", {"year": ("2026",)})

ROUTES: Mapping[tuple[str, str], Rule] = {
    # -- sign-in, passwords, second factor ---------------------------------------------------
    ("GET", "/login"): PUBLIC,
    # The guides (the same Markdown for everyone, no client data).
    ("GET", "/help"): PUBLIC,
    ("GET", "/help/user-guide"): PUBLIC,
    ("GET", "/help/staff-guide"): OWN,
    ("GET", "/help/screenshots/{name}"): Rule("public", {"name": ("en-client-home.jpg",)}),
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): SELF,
    ("POST", "/language"): SELF,
    ("GET", "/password/forgot"): PUBLIC,
    ("POST", "/password/forgot"): PUBLIC,
    ("GET", "/password/{secret:str}"): SECRET,
    ("POST", "/password/{secret:str}"): SECRET,
    ("GET", "/login/second-factor"): PUBLIC,
    ("POST", "/login/second-factor"): PUBLIC,
    ("GET", "/two-factor/enrol"): SELF,
    ("POST", "/two-factor/enrol"): SELF,
    ("GET", "/two-factor"): SELF,
    ("POST", "/two-factor/disable"): SELF,
    ("POST", "/users/{user_id}/two-factor/reset"): OBJECT,
    # -- home, notifications, profile, users, clients, tokens -----------------------------------
    ("GET", "/"): OWN,
    ("GET", "/notifications"): OWN,
    ("POST", "/notifications/{notification_id}/read"): OBJECT,
    ("POST", "/notifications/read-all"): OWN,
    ("POST", "/profile/password"): SELF,
    ("POST", "/profile/sessions/end"): SELF,
    ("GET", "/profile"): SELF,
    ("POST", "/profile/company"): OWN,
    ("POST", "/profile/preferences"): SELF,
    ("POST", "/profile/notifications"): SELF,
    ("GET", "/users"): OWN,
    ("POST", "/users"): OWN,
    ("POST", "/users/{user_id}/password"): OBJECT,
    ("POST", "/users/{user_id}/invite"): OBJECT,
    ("POST", "/users/{user_id}/deactivate"): OBJECT,
    ("POST", "/users/{user_id}/reactivate"): OBJECT,
    ("GET", "/clients"): OWN,
    ("GET", "/clients/new"): OWN,
    ("POST", "/clients/new"): OWN,
    ("GET", "/clients/{client_id}/edit"): OBJECT,
    ("POST", "/clients/{client_id}/edit"): OBJECT,
    ("GET", "/clients/{client_id}/settings"): OBJECT,
    ("POST", "/clients/{client_id}/settings"): OBJECT,
    ("GET", "/tokens"): SELF,
    ("POST", "/tokens"): SELF,
    ("POST", "/tokens/{token_id}/revoke"): OBJECT,
    # -- documents -----------------------------------------------------------------------------
    ("GET", "/documents"): OWN,
    ("GET", "/documents/{doc_id:int}"): OBJECT,
    ("POST", "/documents/{doc_id:int}/transitions/{key}"): OBJECT,
    ("GET", "/documents/{doc_id:int}/pdf"): OBJECT,
    ("GET", "/documents/{doc_id:int}/xml"): ISSUED,
    ("POST", "/documents/{doc_id:int}/attachments"): OBJECT,
    ("GET", "/documents/{doc_id:int}/attachments/{att_id:int}"): OBJECT,
    ("POST", "/documents/{doc_id:int}/attachments/{att_id:int}/delete"): OBJECT,
    ("GET", "/documents/import"): OWN,
    ("POST", "/documents/import"): OWN,
    ("GET", "/documents/{doc_id}/send"): ISSUED,
    ("POST", "/documents/{doc_id}/send"): ISSUED,
    ("POST", "/documents/{doc_id}/convert"): OBJECT,
    ("POST", "/documents/{doc_id}/correct"): OBJECT,
    ("GET", "/documents/{doc_id}/correction-request"): OBJECT,
    ("POST", "/documents/{doc_id}/correction-request"): OBJECT,
    ("POST", "/documents/{doc_id:int}/ksef-number"): OBJECT,
    ("GET", "/documents/{doc_id:int}/upo"): OBJECT_NO_CONTROL,
    ("GET", "/ksef/submissions"): OWN,
    ("GET", "/documents/new"): OWN,
    ("POST", "/documents/new"): OWN,
    ("GET", "/documents/{doc_id:int}/edit"): DRAFT,
    ("POST", "/documents/{doc_id:int}/edit"): DRAFT,
    ("POST", "/documents/{doc_id:int}/delete"): DRAFT,
    # -- chat, news ------------------------------------------------------------------------------
    ("GET", "/chat"): OWN,
    ("GET", "/chat/events"): STREAM,
    ("GET", "/chat/{client_id}"): OBJECT,
    ("GET", "/chat/{client_id}/events"): EVENTS,
    ("POST", "/chat/{client_id}"): OBJECT,
    ("GET", "/chat/files/{att_id}"): CHAT_FILE,
    ("GET", "/news"): OWN,
    ("POST", "/news"): OWN,
    ("GET", "/news/{news_id}/edit"): NEWS,
    ("POST", "/news/{news_id}/edit"): NEWS,
    ("POST", "/news/{news_id}/delete"): NEWS,
    # -- settings, cash, contracts, VAT, reports, audit, branding, mail --------------------------
    ("GET", "/settings"): OWN,
    ("GET", "/cash"): OWN,
    ("POST", "/cash"): OWN,
    ("GET", "/products"): OWN,
    ("GET", "/products/new"): OWN,
    ("POST", "/products/new"): OWN,
    ("GET", "/products/{product_id}"): OBJECT,
    ("POST", "/products/{product_id}"): OBJECT,
    ("POST", "/products/{product_id}/delete"): OBJECT,
    ("GET", "/counterparties"): OWN,
    ("GET", "/counterparties/new"): OWN,
    ("POST", "/counterparties/new"): OWN,
    ("GET", "/counterparties/{counterparty_id}"): OBJECT,
    ("POST", "/counterparties/{counterparty_id}"): OBJECT,
    ("POST", "/counterparties/{counterparty_id}/delete"): OBJECT,
    ("GET", "/cash/desks/{desk_id}"): OBJECT,
    ("POST", "/cash/desks/{desk_id}/reports"): OBJECT,
    ("GET", "/cash/reports/{report_id}"): OBJECT,
    ("GET", "/cash/reports/{report_id}/pdf"): OBJECT,
    ("POST", "/cash/reports/{report_id}/entries"): OBJECT,
    ("POST", "/cash/reports/{report_id}/entries/{slip_id}"): OBJECT,
    ("POST", "/cash/reports/{report_id}/entries/{slip_id}/delete"): OBJECT,
    ("POST", "/cash/reports/{report_id}/move"): OBJECT,
    ("GET", "/cash/slips/{slip_id}/pdf"): OBJECT,
    ("GET", "/settings/contract-templates"): OWN,
    ("GET", "/settings/contract-templates/new"): OWN,
    ("POST", "/settings/contract-templates/new"): OWN,
    ("GET", "/settings/contract-templates/{template_id:int}"): TEMPLATE,
    ("POST", "/settings/contract-templates/{template_id:int}"): TEMPLATE,
    ("GET", "/settings/contract-templates/{template_id:int}/versions/{version:int}"): TEMPLATE,
    ("POST", "/settings/contract-templates/{template_id:int}/deactivate"): TEMPLATE,
    ("POST", "/settings/contract-templates/{template_id:int}/activate"): TEMPLATE,
    ("GET", "/contracts"): OWN,
    ("GET", "/contracts/new"): OWN,
    ("POST", "/contracts/new"): OWN,
    ("GET", "/contracts/{doc_id:int}"): OBJECT,
    ("GET", "/vat-statement"): OWN,
    ("GET", "/vat-statement/jpk"): OWN,
    ("GET", "/vat-statement/download/{format}"): FORMAT_OWN,
    ("POST", "/vat-statement/mark"): OWN,
    ("GET", "/reports"): OWN,
    ("POST", "/reports/export"): OWN,
    ("GET", "/reports/exports/{job_id:int}"): OBJECT,
    ("GET", "/reports/exports/{job_id:int}/file"): OBJECT,
    ("GET", "/audit"): OWN,
    ("GET", "/audit.csv"): OWN,
    ("GET", "/settings/branding"): OWN,
    ("POST", "/settings/branding"): OWN,
    ("POST", "/settings/branding/logo"): OWN,
    ("POST", "/settings/branding/logo/remove"): OWN,
    ("GET", "/branding/logo"): PUBLIC,
    ("GET", "/settings/mail"): OWN,
    ("POST", "/settings/mail"): OWN,
    ("POST", "/settings/mail/test"): OWN,
    ("GET", "/settings/document-notes"): OWN,
    ("POST", "/settings/document-notes"): OWN,
    ("GET", "/settings/vat-rates"): OWN,
    ("POST", "/settings/vat-rates"): OWN,
    ("GET", "/settings/tax-years"): OWN,
    ("POST", "/settings/tax-years"): OWN,
    ("GET", "/settings/tax-years/{year:int}"): TAX_YEAR,
    ("POST", "/settings/tax-years/{year:int}"): TAX_YEAR,
    # -- plugins: KSeF, Bitrix24 ---------------------------------------------------------------
    # The KSeF API's old paths: a 308 redirect to /api/v1/ksef/… for anyone (it reads nothing;
    # the new path checks who asks).
    ("GET", "/api/ksef/clients/{client_id:int}"): PUBLIC,
    ("POST", "/api/ksef/clients/{client_id:int}"): PUBLIC,
    ("POST", "/api/ksef/clients/{client_id:int}/check"): PUBLIC,
    ("GET", "/api/v1/ksef/clients/{client_id:int}"): OBJECT,
    ("POST", "/api/v1/ksef/clients/{client_id:int}"): OBJECT,
    ("POST", "/api/v1/ksef/clients/{client_id:int}/check"): OBJECT,
    ("GET", "/settings/ksef"): OWN,
    ("GET", "/settings/ksef/{client_id:int}"): OBJECT,
    ("POST", "/settings/ksef/{client_id:int}"): OBJECT,
    ("POST", "/settings/ksef/{client_id:int}/check"): OBJECT,
    ("POST", "/bitrix24/install"): PUBLIC,
    ("POST", "/bitrix24/placement"): PUBLIC,
    ("GET", "/bitrix24/sign-in"): PUBLIC,
    ("GET", "/settings/bitrix24"): OWN,
    ("POST", "/settings/bitrix24"): OWN,
    ("POST", "/settings/bitrix24/retry"): OWN,
    ("POST", "/settings/bitrix24/people"): OWN,
    ("POST", "/settings/bitrix24/stages"): OWN,
    ("POST", "/settings/bitrix24/fields"): OWN,
    ("POST", "/settings/bitrix24/check"): OWN,
    ("POST", "/hooks/{backend}"): HOOK,
    ("POST", "/hooks/{backend}/{path:path}"): HOOK,
    # -- the JSON API ------------------------------------------------------------------------------
    ("GET", "/api/v1/me"): SELF,
    ("GET", "/api/v1/clients"): OWN,
    ("POST", "/api/v1/clients"): OWN,
    ("GET", "/api/v1/clients/{client_id:int}"): OBJECT,
    ("PATCH", "/api/v1/clients/{client_id:int}"): OBJECT,
    ("PUT", "/api/v1/clients/{client_id:int}/templates"): OBJECT,
    ("GET", "/api/v1/counterparties"): OWN,
    ("POST", "/api/v1/counterparties"): OWN,
    ("GET", "/api/v1/products"): OWN,
    ("POST", "/api/v1/products"): OWN,
    ("GET", "/api/v1/documents"): OWN,
    ("POST", "/api/v1/documents"): OWN,
    ("POST", "/api/v1/documents/preview-totals"): OWN,
    ("POST", "/api/v1/documents/import-fa3"): OWN,
    ("GET", "/api/v1/documents/{doc_id:int}"): OBJECT,
    ("PUT", "/api/v1/documents/{doc_id:int}"): OBJECT,
    ("DELETE", "/api/v1/documents/{doc_id:int}"): OBJECT,
    ("GET", "/api/v1/documents/{doc_id:int}/pdf"): OBJECT,
    ("GET", "/api/v1/documents/{doc_id:int}/xml"): ISSUED,
    ("GET", "/api/v1/documents/{doc_id:int}/attachments"): OBJECT,
    ("POST", "/api/v1/documents/{doc_id:int}/attachments"): OBJECT,
    ("GET", "/api/v1/documents/{doc_id:int}/attachments/{att_id:int}"): OBJECT,
    ("DELETE", "/api/v1/documents/{doc_id:int}/attachments/{att_id:int}"): OBJECT,
    ("GET", "/api/v1/documents/{doc_id:int}/transitions"): OBJECT,
    ("POST", "/api/v1/documents/{doc_id:int}/transitions/{key}"): OBJECT,
    ("POST", "/api/v1/documents/{doc_id:int}/send"): ISSUED,
    ("GET", "/api/v1/documents/{doc_id:int}/deliveries"): OBJECT,
    ("POST", "/api/v1/documents/{doc_id:int}/convert"): OBJECT,
    ("POST", "/api/v1/documents/{doc_id:int}/correct"): OBJECT,
    ("POST", "/api/v1/documents/{doc_id:int}/correction-request"): OBJECT,
    ("GET", "/api/v1/documents/{doc_id:int}/ksef"): OBJECT_NO_CONTROL,
    ("GET", "/api/v1/documents/{doc_id:int}/ksef/upo"): OBJECT_NO_CONTROL,
    ("POST", "/api/v1/documents/{doc_id:int}/ksef-number"): OBJECT,
    ("PUT", "/api/v1/documents/{doc_id:int}/vat-mark"): OBJECT,
    ("GET", "/api/v1/exchange-rates"): OWN,
    ("GET", "/api/v1/news"): OWN,
    ("POST", "/api/v1/news"): OWN,
    ("GET", "/api/v1/news/{news_id:int}"): NEWS,
    ("PUT", "/api/v1/news/{news_id:int}"): NEWS,
    ("DELETE", "/api/v1/news/{news_id:int}"): NEWS,
    ("GET", "/api/v1/openapi.json"): PUBLIC,
    ("GET", "/api/v1/audit"): OWN,
    ("GET", "/api/v1/audit/export"): OWN,
    ("GET", "/api/v1/cash-desks"): OWN,
    ("POST", "/api/v1/cash-desks"): OWN,
    ("GET", "/api/v1/cash-desks/{desk_id:int}"): OBJECT,
    ("GET", "/api/v1/cash-desks/{desk_id:int}/reports"): OBJECT,
    ("POST", "/api/v1/cash-desks/{desk_id:int}/reports"): OBJECT,
    ("GET", "/api/v1/cash-desks/{desk_id:int}/slips"): OBJECT,
    ("GET", "/api/v1/cash-reports/{report_id:int}"): OBJECT,
    ("POST", "/api/v1/cash-reports/{report_id:int}/entries"): OBJECT,
    ("POST", "/api/v1/cash-reports/{report_id:int}/transitions"): OBJECT,
    ("GET", "/api/v1/cash-reports/{report_id:int}/pdf"): OBJECT,
    ("GET", "/api/v1/cash-slips/{slip_id:int}"): OBJECT,
    ("PUT", "/api/v1/cash-slips/{slip_id:int}"): OBJECT,
    ("DELETE", "/api/v1/cash-slips/{slip_id:int}"): OBJECT,
    ("GET", "/api/v1/cash-slips/{slip_id:int}/pdf"): OBJECT,
    ("GET", "/api/v1/chat"): OWN,
    ("POST", "/api/v1/chat"): OWN,
    ("GET", "/api/v1/chat/{client_id}/messages"): OBJECT,
    ("POST", "/api/v1/chat/{client_id}/messages"): OBJECT,
    ("GET", "/api/v1/chat/attachments/{att_id}"): CHAT_FILE,
    ("POST", "/api/v1/chat/{client_id}/read"): OBJECT,
    ("GET", "/api/v1/chat/conversations"): OWN,
    ("GET", "/api/v1/chat/unread"): OWN,
    ("GET", "/api/v1/chat/{client_id}/events"): EVENTS,
    ("GET", "/api/v1/chat/events"): STREAM,
    ("GET", "/api/v1/contract-templates"): OWN,
    ("POST", "/api/v1/contract-templates"): OWN,
    ("POST", "/api/v1/contract-templates/preview"): OWN,
    ("GET", "/api/v1/contract-templates/{template_id}"): TEMPLATE,
    ("PUT", "/api/v1/contract-templates/{template_id}"): TEMPLATE,
    ("GET", "/api/v1/contract-templates/{template_id}/versions"): TEMPLATE,
    ("POST", "/api/v1/contract-templates/{template_id}/deactivate"): TEMPLATE,
    ("POST", "/api/v1/contract-templates/{template_id}/activate"): TEMPLATE,
    ("POST", "/api/v1/contracts"): OWN,
    ("GET", "/api/v1/contracts/{doc_id}/text"): OBJECT,
    ("GET", "/api/v1/ksef/submissions"): OWN,
    ("GET", "/api/v1/notifications"): OWN,
    ("GET", "/api/v1/notifications/unread-count"): OWN,
    ("POST", "/api/v1/notifications/{notification_id:int}/read"): OBJECT,
    ("POST", "/api/v1/notifications/read-all"): OWN,
    ("GET", "/api/v1/notifications/preferences"): SELF,
    ("PUT", "/api/v1/notifications/preferences"): SELF,
    ("GET", "/api/v1/dashboard"): OWN,
    ("GET", "/api/v1/reports/{kind}"): REPORT_KIND,
    ("POST", "/api/v1/reports/exports"): OWN,
    ("GET", "/api/v1/reports/exports/{job_id}"): OBJECT,
    ("GET", "/api/v1/reports/exports/{job_id}/file"): OBJECT,
    ("GET", "/api/v1/settings/branding"): OWN,
    ("PUT", "/api/v1/settings/branding"): OWN,
    ("GET", "/api/v1/settings/mail"): OWN,
    ("PUT", "/api/v1/settings/mail"): OWN,
    ("POST", "/api/v1/settings/mail/test"): OWN,
    ("GET", "/api/v1/settings/mail/tests"): OWN,
    ("GET", "/api/v1/settings/document-notes"): OWN,
    ("PUT", "/api/v1/settings/document-notes"): OWN,
    ("GET", "/api/v1/settings/vat-rates"): OWN,
    ("PUT", "/api/v1/settings/vat-rates"): OWN,
    ("GET", "/api/v1/settings/tax-years"): OWN,
    ("POST", "/api/v1/settings/tax-years"): OWN,
    ("GET", "/api/v1/settings/tax-years/{year:int}"): TAX_YEAR,
    ("PUT", "/api/v1/settings/tax-years/{year:int}"): TAX_YEAR,
    ("GET", "/api/v1/users"): OWN,
    ("POST", "/api/v1/users"): OWN,
    ("POST", "/api/v1/users/{user_id:int}/deactivate"): OBJECT,
    ("POST", "/api/v1/users/{user_id:int}/reactivate"): OBJECT,
    ("POST", "/api/v1/users/{user_id:int}/two-factor/reset"): OBJECT,
    ("POST", "/api/v1/me/password"): SELF,
    ("POST", "/api/v1/password/forgot"): PUBLIC,
    ("POST", "/api/v1/password/reset"): PUBLIC,
    ("GET", "/api/v1/clients/{client_id:int}/vat-statement"): OBJECT,
    ("GET", "/api/v1/clients/{client_id:int}/vat-statement/jpk"): JPK,
    ("GET", "/api/v1/clients/{client_id:int}/vat-statement/{format}"): VAT_FORMAT,
}
