"""``/settings/tax-years``: the PIT/ZUS parameters per tax year that bills are computed with.

The list shows every year the cabinet knows side by side; a year's page edits its parameters
(refused field by field when a rate is not from 0 to 1 or an amount is negative); a new year
starts from another's values. Every change goes through ``cabinet.tax_years`` (admins only,
audited); a parameter the operator sets in the environment wins and the page says so.
"""

from __future__ import annotations

from typing import Any

from cabinet_core.entities import Role
from cabinet_core.errors import N_, ValidationError
from cabinet_core.payroll.tax_year import PARAMETERS
from cabinet_core.services.tax_years import RATES
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinet_web.pages._common import (
    actor_of,
    cabinet_of,
    errors_by_field,
    flash,
    page,
    read_form,
    redirect,
    render,
    run,
)

__all__ = ["PARAMETER_LABELS", "ROUTES", "TAX_YEARS_PAGE"]

TAX_YEARS_PAGE = "/settings/tax-years"

#: Each parameter's label (msgids; the page translates them).
PARAMETER_LABELS: dict[str, str] = {
    "pit_rate": N_("PIT advance rate"),
    "pit2_monthly_relief": N_("Monthly tax relief with PIT-2 (PLN)"),
    "costs_rate": N_("Deductible costs rate"),
    "copyright_costs_rate": N_("Copyright costs rate"),
    "copyright_costs_cap": N_("Yearly cap of copyright costs (PLN)"),
    "small_contract_limit": N_("Flat tax up to this contract amount (PLN)"),
    "flat_tax_rate": N_("Flat tax rate"),
    "pension_rate": N_("Pension contribution (contractor)"),
    "disability_rate": N_("Disability contribution (contractor)"),
    "sickness_rate": N_("Sickness contribution"),
    "health_rate": N_("Health contribution"),
    "employer_pension_rate": N_("Pension contribution (orderer)"),
    "employer_disability_rate": N_("Disability contribution (orderer)"),
    "accident_rate": N_("Accident contribution"),
    "labour_fund_rate": N_("Labour Fund (FP)"),
    "guaranteed_benefits_rate": N_("Guaranteed Benefits Fund (FGŚP)"),
    "minimum_wage": N_("Minimum wage (PLN)"),
    "minimum_hourly_rate": N_("Minimum hourly rate (PLN)"),
    "young_exemption_limit": N_("Yearly limit of the young person's relief (PLN)"),
    "pension_base_cap": N_("Yearly cap of the pension and disability base (PLN)"),
}
assert set(PARAMETER_LABELS) == set(PARAMETERS)


@page(roles=[Role.ADMIN])
async def tax_years_page(request: Request) -> Response:
    """Every year's parameters side by side, and the form that adds a year."""
    return await _render_list(request)


async def _render_list(
    request: Request,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    rows = await run(cabinet_of(request).tax_years.list, actor_of(request))
    newest = rows[0].year if rows else 2026
    context: dict[str, Any] = {
        "rows": rows,
        "parameters": [(name, PARAMETER_LABELS[name], name in RATES) for name in PARAMETERS],
        "values": values or {"year": str(newest + 1), "based_on": str(newest)},
        "year_options": [(str(row.year), str(row.year)) for row in rows],
        "errors": errors or {},
    }
    return render(request, "tax_years.html", context, status_code=status)


@page(roles=[Role.ADMIN])
async def add_tax_year(request: Request) -> Response:
    """A new year with another year's parameters; its page opens to edit them."""
    form = await read_form(request)
    values = {"year": form.get("year", ""), "based_on": form.get("based_on", "")}
    try:
        row = await run(
            cabinet_of(request).tax_years.add,
            actor_of(request),
            values["year"],
            based_on=values["based_on"],
        )
    except ValidationError as exc:
        return await _render_list(
            request, values=values, errors=errors_by_field(request, exc.errors), status=422
        )
    flash(request, request.state.gettext("The tax year %(year)s was added.") % {"year": row.year})
    return redirect(f"{TAX_YEARS_PAGE}/{row.year}")


async def _render_year(
    request: Request,
    year: int,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    row = await run(cabinet_of(request).tax_years.get, actor_of(request), year)
    if values is None:
        values = {name: str(getattr(row.parameters, name)) for name in PARAMETERS}
    context: dict[str, Any] = {
        "row": row,
        "parameters": [(name, PARAMETER_LABELS[name], name in RATES) for name in PARAMETERS],
        "values": values,
        "errors": errors or {},
        "environment": {
            name: f"CABINET_PAYROLL_{year}_{name.upper()}" for name in row.from_environment
        },
    }
    return render(request, "tax_year.html", context, status_code=status)


@page(roles=[Role.ADMIN])
async def tax_year_page(request: Request) -> Response:
    """One year's parameters to edit."""
    return await _render_year(request, request.path_params["year"])


@page(roles=[Role.ADMIN])
async def save_tax_year(request: Request) -> Response:
    """Store every parameter of the year; nothing is written when one is wrong."""
    year = request.path_params["year"]
    form = await read_form(request)
    values = {name: form.get(name, "") for name in PARAMETERS}
    try:
        await run(cabinet_of(request).tax_years.save, actor_of(request), year, values)
    except ValidationError as exc:
        return await _render_year(
            request, year, values=values, errors=errors_by_field(request, exc.errors), status=422
        )
    flash(request, request.state.gettext("The tax year %(year)s was saved.") % {"year": year})
    return redirect(TAX_YEARS_PAGE)


ROUTES = [
    Route(TAX_YEARS_PAGE, tax_years_page, methods=["GET"], name="tax_years"),
    Route(TAX_YEARS_PAGE, add_tax_year, methods=["POST"], name="tax_year_add"),
    Route(f"{TAX_YEARS_PAGE}/{{year:int}}", tax_year_page, methods=["GET"], name="tax_year"),
    Route(f"{TAX_YEARS_PAGE}/{{year:int}}", save_tax_year, methods=["POST"], name="tax_year_save"),
]
