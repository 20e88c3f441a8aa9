"""cabinet-hello: the example plugin for cabinet plugin authors.

Installed, it is found through the entry point ``cabinet_hello`` (group ``cabinet``) and adds:

* a document type, the power of attorney (:mod:`cabinet_hello.power_of_attorney`);
* with the web layer (cabinet-web) installed: a menu link to those documents and a greeting on
  the home page (a template that extends the built-in one, and the variable it prints);
* a friendly log line for each event the core announces (a new client, a saved or signed
  document, a chat message, news).

Every hook below is a plain function marked with ``hookimpl``; pluggy passes only the arguments
a function names. The marker is made here rather than imported from cabinet-web, so the plugin
loads without the web layer; ``optionalhook=True`` keeps a missing web hook from being an error.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from importlib.resources import files
from typing import TYPE_CHECKING

import pluggy

from cabinet_hello.power_of_attorney import PowerOfAttorney

if TYPE_CHECKING:
    from cabinet_core.entities import ChatMessage, Client, Document, NewsItem, User
    from cabinet_core.hookspecs import Register
    from starlette.requests import Request

__all__ = ["PowerOfAttorney", "hookimpl"]

hookimpl = pluggy.HookimplMarker("cabinet")
#: An example, not a feature: ``cabinet demo`` shows its greeting and menu entry only with
#: ``--with-example-plugins`` (cabinet_core.plugins.EXAMPLE_MARKER).
cabinet_example = True
log = logging.getLogger("cabinet_hello")

MENU_LABELS = {"pl": "Pełnomocnictwa", "en": "Powers of attorney"}
GREETINGS = {
    "pl": "Dzień dobry! Pozdrowienia od wtyczki cabinet-hello.",
    "en": "Hello from the cabinet-hello plugin!",
}


@hookimpl
def register_document_types(register: Register) -> None:
    """Add the power of attorney to every cabinet that loads this plugin."""
    register(PowerOfAttorney())


@hookimpl(optionalhook=True)
def menu_links(actor: User | None, request: Request) -> Sequence[Mapping[str, str]]:
    """A link to the client's powers of attorney, in the page's language."""
    if actor is None:
        return []
    language = getattr(request.state, "language", "pl")
    return [
        {
            "href": "/documents?doc_type=power_of_attorney",
            "label": MENU_LABELS.get(language, MENU_LABELS["en"]),
        }
    ]


@hookimpl(optionalhook=True)
def template_dirs() -> Sequence[str]:
    """Our templates come first: ``home.html`` here extends the built-in ``default:home.html``."""
    return [str(files("cabinet_hello") / "templates")]


@hookimpl(optionalhook=True)
def extra_template_vars(request: Request) -> Mapping[str, str]:
    """The greeting ``home.html`` prints, in the page's language."""
    language = getattr(request.state, "language", "pl")
    return {"hello_greeting": GREETINGS.get(language, GREETINGS["en"])}


@hookimpl
def client_created(client: Client) -> None:
    """Say hello to a new client."""
    log.info("Dzień dobry, %s! (hello, new client #%s)", client.name, client.id)


@hookimpl
def document_saved(document: Document, created: bool) -> None:
    """Note new powers of attorney (other document types are left alone)."""
    if created and document.doc_type == PowerOfAttorney.key:
        log.info(
            "Power of attorney #%s drafted for %s", document.id, document.extra.get("attorney", "?")
        )


@hookimpl
def document_status_changed(document: Document, old_status: str, new_status: str) -> None:
    """Celebrate a signed power of attorney."""
    if document.doc_type == PowerOfAttorney.key and new_status == "signed":
        log.info("Power of attorney %s signed (was %s)", document.number, old_status)


@hookimpl
def chat_message_posted(message: ChatMessage) -> None:
    """Count the words of every chat message, just to show the hook's arguments."""
    log.info("Chat message in client #%s: %s words", message.client_id, len(message.body.split()))


@hookimpl
def news_published(news_item: NewsItem) -> None:
    """Note published news."""
    log.info("News published: %s", news_item.title)
