"""News for every client (``/news``), and the staff's editor: publish, edit, delete through
``cabinet.news``. Items that come from the Bitrix24 feed are edited there (the next pull would
overwrite a change made here), so the editor offers them read-only."""

from __future__ import annotations

from typing import Any

import attrs
from cabinet_core import access
from cabinet_core.entities import NewsItem
from cabinet_core.errors import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinet_web.limits import parse_id
from cabinet_web.pages._common import (
    actor_of,
    cabinet_of,
    errors_by_field,
    flash,
    page,
    pop_flashes,
    read_form,
    redirect,
    render,
    run,
)

PAGE_SIZE = 20


def _values(form: dict[str, str]) -> dict[str, str]:
    return {
        "title": form.get("title", ""),
        "body": form.get("body", ""),
        "important": "on" if form.get("important") else "",
    }


async def _list(
    request: Request,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    try:
        offset = max(0, int(request.query_params.get("offset", "0")))
    except ValueError:
        offset = 0
    news = await run(cabinet.news.list, actor, limit=PAGE_SIZE, offset=offset)
    context: dict[str, Any] = {
        "news": news,
        "can_publish": access.can_publish_news(actor),
        "values": values or {},
        "errors": errors or {},
        "flashes": pop_flashes(request),
        "next_offset": offset + PAGE_SIZE if offset + PAGE_SIZE < news.total else None,
        "previous_offset": max(0, offset - PAGE_SIZE) if offset else None,
    }
    return render(request, "news.html", context, status_code=status)


@page()
async def news_list(request: Request) -> Response:
    """The news, newest first; staff also see the form to publish."""
    return await _list(request)


@page()
async def publish(request: Request) -> Response:
    """Publish the form's item (staff); errors at the fields."""
    form = await read_form(request)
    item = NewsItem(
        title=form.get("title", ""),
        body=form.get("body", "").strip(),
        important="important" in form,
    )
    try:
        await run(cabinet_of(request).news.publish, actor_of(request), item)
    except ValidationError as exc:
        return await _list(
            request, values=_values(form), errors=errors_by_field(request, exc.errors), status=422
        )
    flash(request, request.state.gettext("The news item is published."))
    return redirect("/news")


async def _item(request: Request) -> NewsItem:
    news_id = parse_id(request.path_params["news_id"])
    item: NewsItem = await run(cabinet_of(request).news.get, actor_of(request), news_id)
    return item


async def _editor(
    request: Request, item: NewsItem, values: dict[str, str], errors: dict[str, str], status: int
) -> Response:
    context = {"item": item, "values": values, "errors": errors}
    return render(request, "news.html", context, status_code=status)


@page()
async def edit_form(request: Request) -> Response:
    """The editor of one item (staff)."""
    access.require(access.can_publish_news(actor_of(request)))
    item = await _item(request)
    values = {"title": item.title, "body": item.body, "important": "on" if item.important else ""}
    return await _editor(request, item, values, {}, 200)


@page()
async def save(request: Request) -> Response:
    """Save an edited item (staff); items from Bitrix24 are edited there."""
    access.require(access.can_publish_news(actor_of(request)))
    item = await _item(request)
    form = await read_form(request)
    if item.external_id:
        return await _editor(request, item, _values(form), {}, 409)
    changed = attrs.evolve(
        item,
        title=form.get("title", ""),
        body=form.get("body", "").strip(),
        important="important" in form,
    )
    try:
        await run(cabinet_of(request).news.update, actor_of(request), changed)
    except ValidationError as exc:
        errors = errors_by_field(request, exc.errors)
        return await _editor(request, item, _values(form), errors, 422)
    flash(request, request.state.gettext("The news item is saved."))
    return redirect("/news")


@page()
async def delete(request: Request) -> Response:
    """Delete an item (staff)."""
    news_id = parse_id(request.path_params["news_id"])
    await run(cabinet_of(request).news.delete, actor_of(request), news_id)
    flash(request, request.state.gettext("The news item is deleted."))
    return redirect("/news")


ROUTES = [
    Route("/news", news_list, methods=["GET"], name="news"),
    Route("/news", publish, methods=["POST"], name="news_publish"),
    Route("/news/{news_id}/edit", edit_form, methods=["GET"], name="news_edit"),
    Route("/news/{news_id}/edit", save, methods=["POST"], name="news_save"),
    Route("/news/{news_id}/delete", delete, methods=["POST"], name="news_delete"),
]
