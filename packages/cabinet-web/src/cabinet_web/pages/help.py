"""The guides inside the cabinet (``/help``): the client's guide and the staff guide, in the
request's language, from the same Markdown files the documentation site is built from.

Why here and not a link to a website: a firm runs the cabinet on its own host, often with no
public documentation site it controls, and the guide must match the version it runs. The
Markdown lives in this package (``cabinet_web/help/<language>/``); ``docs/`` links to it.
"""

from __future__ import annotations

import functools
import posixpath
import re
from importlib import resources

from cabinet_core.entities import Role
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinet_web.pages._common import page, redirect, render

GUIDES = {"user-guide": False, "staff-guide": True}  # name -> staff only
LANGUAGES = ("pl", "en")
STAFF_ROLES = (Role.MANAGER, Role.ACCOUNTANT, Role.ADMIN)
HREF = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.DOTALL)
IMG_SRC = re.compile(r'<img alt="([^"]*)" src="[^"]*?([a-z]{2}-[a-z0-9-]+\.jpg)"')
SCREENSHOT_NAME = re.compile(r"^[a-z]{2}-[a-z0-9-]+\.jpg$")


@functools.lru_cache(maxsize=8)
def guide_html(name: str, language: str) -> tuple[str, str]:
    """The guide's title and its body as HTML, links into the other guide kept and links to the
    rest of the documentation (not served by the cabinet) reduced to their text."""
    source = resources.files("cabinet_web") / "help" / language / f"{name}.md"
    text = source.read_text("utf-8")
    title, _, body = text.partition("\n")
    import markdown  # loaded by the first guide opened, not by every process at start

    html = markdown.markdown(body, extensions=["tables", "toc", "attr_list"])
    # Screenshots sit beside the guides (docs/ reaches them by a relative path): serve them here.
    html = IMG_SRC.sub(r'<img alt="\1" src="/help/screenshots/\2" loading="lazy"', html)
    return title.lstrip("# ").strip(), HREF.sub(_link, html)


def _link(match: re.Match[str]) -> str:
    href, text = match.groups()
    if href.startswith(("#", "http://", "https://", "mailto:")):
        return match.group(0)
    path, _, anchor = href.partition("#")
    name = posixpath.basename(path).removesuffix(".md")
    if name in GUIDES:
        return f'<a href="/help/{name}{"#" + anchor if anchor else ""}">{text}</a>'
    return text


async def help_index(request: Request) -> Response:
    """The guide for whoever asks: staff get theirs, everyone else the client's guide."""
    user = request.state.user
    staff = user is not None and user.role in STAFF_ROLES
    return redirect("/help/staff-guide" if staff else "/help/user-guide")


async def user_guide(request: Request) -> Response:
    """The client's guide is public: it also explains signing in and lost passwords."""
    return _guide(request, "user-guide")


@page(roles=STAFF_ROLES)
async def staff_guide(request: Request) -> Response:
    return _guide(request, "staff-guide")


def _guide(request: Request, name: str) -> Response:
    language = request.state.language if request.state.language in LANGUAGES else "en"
    try:
        title, body = guide_html(name, language)
    except FileNotFoundError as exc:  # a package built without its guides
        raise HTTPException(404) from exc
    user = request.state.user
    others = [
        other
        for other, staff_only in GUIDES.items()
        if other != name and (not staff_only or (user is not None and user.role in STAFF_ROLES))
    ]
    return render(request, "help.html", {"title": title, "body": body, "others": others})


async def screenshot(request: Request) -> Response:
    """A picture of a guide (taken by the browser tests from the demo)."""
    name = request.path_params["name"]
    if not SCREENSHOT_NAME.match(name):
        raise HTTPException(404)
    source = resources.files("cabinet_web") / "help" / "screenshots" / name
    try:
        content = source.read_bytes()
    except FileNotFoundError as exc:
        raise HTTPException(404) from exc
    return Response(
        content, media_type="image/jpeg", headers={"Cache-Control": "public, max-age=86400"}
    )


ROUTES = [
    Route("/help", help_index, methods=["GET"], name="help"),
    Route("/help/user-guide", user_guide, methods=["GET"], name="help_user_guide"),
    Route("/help/staff-guide", staff_guide, methods=["GET"], name="help_staff_guide"),
    Route("/help/screenshots/{name}", screenshot, methods=["GET"], name="help_screenshot"),
]
