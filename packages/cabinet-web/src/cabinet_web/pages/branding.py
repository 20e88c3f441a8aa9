"""``/settings/branding``: the firm's name, colours (refused below WCAG AA contrast), logo and
host name, kept in the database; and ``/branding/logo``, the stored logo every page shows.

Every change goes through ``cabinet.branding`` (admins only, audited); a value an operator set
in the environment wins and the page says so.
"""

from __future__ import annotations

from typing import Any

from cabinet_core.entities import Role
from cabinet_core.errors import ValidationError
from cabinet_core.services.branding import ENVIRONMENT, LOGO_MAX_BYTES, LOGO_PATH
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

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

__all__ = ["BRANDING_PAGE", "ROUTES"]

BRANDING_PAGE = "/settings/branding"
FIELDS = ("firm_name", "primary_color", "accent_color", "host_name")


async def _render(
    request: Request,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    form = await run(cabinet_of(request).branding.form, actor_of(request))
    if values is None:
        effective = form.effective
        values = {
            "firm_name": form.stored.get("firm_name", effective.firm_name),
            "primary_color": form.stored.get("primary_color", effective.primary_color),
            "accent_color": form.stored.get("accent_color", effective.accent_color),
            "host_name": form.host_name,
        }
    context: dict[str, Any] = {
        "form": form,
        "values": values,
        "errors": errors or {},
        "environment": {field: ENVIRONMENT[field] for field in form.from_environment},
        "logo_max_kib": LOGO_MAX_BYTES // 1024,
        "flashes": pop_flashes(request),
    }
    return render(request, "branding.html", context, status_code=status)


@page(roles=[Role.ADMIN])
async def branding_page(request: Request) -> Response:
    """The branding form and the logo upload."""
    return await _render(request)


@page(roles=[Role.ADMIN])
async def save_branding(request: Request) -> Response:
    """Store the name, colours and host name; a field error for each problem."""
    form = await read_form(request)
    values = {field: form.get(field, "") for field in FIELDS}
    try:
        await run(cabinet_of(request).branding.update, actor_of(request), **values)
    except ValidationError as exc:
        return await _render(
            request, values=values, errors=errors_by_field(request, exc.errors), status=422
        )
    flash(request, request.state.gettext("The branding was saved."))
    return redirect(BRANDING_PAGE)


@page(roles=[Role.ADMIN])
async def upload_logo(request: Request) -> Response:
    """Store the uploaded logo (its size and type are checked by the service)."""
    form = await request.form(max_files=1, max_fields=5)
    try:
        upload = form.get("logo")
        data = b""
        media_type = ""
        if isinstance(upload, UploadFile):
            # One byte more than allowed is enough to know it is too large.
            data = await upload.read(LOGO_MAX_BYTES + 1)
            media_type = upload.content_type or ""
    finally:
        await form.close()
    try:
        await run(cabinet_of(request).branding.set_logo, actor_of(request), data, media_type)
    except ValidationError as exc:
        return await _render(request, errors=errors_by_field(request, exc.errors), status=422)
    flash(request, request.state.gettext("The logo was saved."))
    return redirect(BRANDING_PAGE)


@page(roles=[Role.ADMIN])
async def remove_logo(request: Request) -> Response:
    """Go back to no logo (or the one the installation configures)."""
    await run(cabinet_of(request).branding.remove_logo, actor_of(request))
    flash(request, request.state.gettext("The logo was removed."))
    return redirect(BRANDING_PAGE)


async def logo(request: Request) -> Response:
    """The stored logo (public: the sign-in page shows it too). Its address changes with its
    content, so it may be cached for long."""
    stored = await run(cabinet_of(request).branding.logo)
    return Response(
        stored.content,
        media_type=stored.media_type,
        headers={
            "Cache-Control": "public, max-age=86400",
            "X-Content-Type-Options": "nosniff",
            "ETag": f'"{stored.digest}"',
        },
    )


ROUTES = [
    Route(BRANDING_PAGE, branding_page, methods=["GET"], name="branding"),
    Route(BRANDING_PAGE, save_branding, methods=["POST"], name="branding_save"),
    Route(f"{BRANDING_PAGE}/logo", upload_logo, methods=["POST"], name="branding_logo"),
    Route(
        f"{BRANDING_PAGE}/logo/remove", remove_logo, methods=["POST"], name="branding_logo_remove"
    ),
    Route(LOGO_PATH, logo, methods=["GET"], name="branding_logo_file"),
]
