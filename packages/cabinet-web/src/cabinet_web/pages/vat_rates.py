"""``/settings/vat-rates``: which VAT rates the document forms offer (admins, audited through
``cabinet.vat_rates``); the operator's ``CABINET_VAT_OFFERED_RATES`` wins and the page says so."""

from __future__ import annotations

from typing import Any

from cabinet_core.entities import Role
from cabinet_core.errors import ValidationError
from cabinet_core.services.vat_rates import ENVIRONMENT
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinet_web.pages._common import (
    actor_of,
    cabinet_of,
    errors_by_field,
    flash,
    page,
    redirect,
    render,
    run,
)

__all__ = ["ROUTES", "VAT_RATES_PAGE"]

VAT_RATES_PAGE = "/settings/vat-rates"


async def _render(
    request: Request,
    *,
    chosen: list[str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    form = await run(cabinet_of(request).vat_rates.form, actor_of(request))
    language = request.state.language
    context: dict[str, Any] = {
        "form": form,
        "rates": [(rate.code, rate.label.get(language, rate.code)) for rate in form.rates],
        "chosen": list(form.offered) if chosen is None else chosen,
        "errors": errors or {},
        "environment": ENVIRONMENT if form.from_environment else None,
    }
    return render(request, "vat_rates.html", context, status_code=status)


@page(roles=[Role.ADMIN])
async def vat_rates_page(request: Request) -> Response:
    """Every rate of the rules in force, the offered ones ticked."""
    return await _render(request)


@page(roles=[Role.ADMIN])
async def save_vat_rates(request: Request) -> Response:
    """Offer the ticked rates (at least one)."""
    async with request.form() as form:
        chosen = [str(code) for code in form.getlist("rates")]
    try:
        await run(cabinet_of(request).vat_rates.set_offered, actor_of(request), chosen)
    except ValidationError as exc:
        return await _render(
            request, chosen=chosen, errors=errors_by_field(request, exc.errors), status=422
        )
    flash(request, request.state.gettext("The VAT rates offered were saved."))
    return redirect(VAT_RATES_PAGE)


ROUTES = [
    Route(VAT_RATES_PAGE, vat_rates_page, methods=["GET"], name="vat_rates"),
    Route(VAT_RATES_PAGE, save_vat_rates, methods=["POST"], name="vat_rates_save"),
]
