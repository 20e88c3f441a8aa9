"""The profile: the client's company data and bank sub-accounts (for client users), its document
preferences, the user's language, password and open sessions."""

from __future__ import annotations

from typing import Any

from cabinet_core.entities import Client, Role
from cabinet_core.errors import ValidationError
from cabinet_core.money import SUPPORTED_CURRENCIES
from cabinet_core.notification_kinds import EMAIL_KINDS
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
from cabinet_web.pages.clients import (
    account_rows,
    apply_company_form,
    company_values,
    remap_account_errors,
)
from cabinet_web.security import session_secret


def preference_values(client: Client) -> dict[str, Any]:
    """The document preferences form's values for ``client``."""
    return {"auto_send": client.auto_send, "default_template": client.default_template or ""}


def template_choices(request: Request, client: Client) -> list[tuple[str, str]]:
    """The templates the client may pick as its default: those an admin allowed (every
    registered one while none is set)."""
    templates = cabinet_of(request).templates
    keys = client.allowed_templates or tuple(sorted(templates))
    return [(key, templates[key].name) for key in keys if key in templates]


async def _render(
    request: Request,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
    *,
    client: Client | None = None,
    preferences: dict[str, Any] | None = None,
    preference_errors: dict[str, str] | None = None,
    password_errors: dict[str, str] | None = None,
) -> Response:
    actor = actor_of(request)
    sessions = await run(cabinet_of(request).sessions.list, actor)
    current = getattr(request.state, "signin_session", None)
    email_choices = await run(cabinet_of(request).notifications.email_preferences, actor)
    context: dict[str, Any] = {
        "password_errors": password_errors or {},
        "sessions": sessions,
        "current_session": current.id if current is not None else None,
        "values": values,
        "errors": errors,
        "flashes": pop_flashes(request),
        "email_kinds": [(kind, label, email_choices[kind]) for kind, label in EMAIL_KINDS.items()],
        "has_company": request.state.user.role is Role.CLIENT,
        "account_rows": account_rows(values),
        "currencies": SUPPORTED_CURRENCIES,
        "preferences": preferences
        if preferences is not None
        else (preference_values(client) if client is not None else {}),
        "preference_errors": preference_errors or {},
        "template_choices": template_choices(request, client) if client is not None else [],
    }
    return render(request, "profile.html", context, status_code=status)


@page()
async def profile(request: Request) -> Response:
    """Show the profile forms."""
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    values: dict[str, str] = {}
    client = None
    if actor.role is Role.CLIENT and actor.client_id is not None:
        client = await run(cabinet.clients.get, actor, actor.client_id)
        values = company_values(client)
    return await _render(request, values, {}, client=client)


@page(roles=[Role.CLIENT])
async def save_company(request: Request) -> Response:
    """Save the company data; on bad input show the form again with the messages at the fields."""
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    form = await read_form(request)
    assert actor.client_id is not None
    client = await run(cabinet.clients.get, actor, actor.client_id)
    updated, rows = apply_company_form(client, form)
    try:
        await run(cabinet.clients.update, actor, updated)
    except ValidationError as exc:
        errors = errors_by_field(request, remap_account_errors(exc.errors, rows))
        return await _render(request, form, errors, status=422, client=client)
    flash(request, request.state.gettext("Company data saved."))
    return redirect("/profile")


@page(roles=[Role.CLIENT])
async def save_preferences(request: Request) -> Response:
    """The client's own auto-send switch and default template."""
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    form = await read_form(request)
    assert actor.client_id is not None
    auto_send = form.get("auto_send") == "on"
    default = form.get("default_template", "").strip() or None
    try:
        await run(
            cabinet.clients.set_preferences,
            actor,
            actor.client_id,
            auto_send=auto_send,
            default_template=default,
        )
    except ValidationError as exc:
        client = await run(cabinet.clients.get, actor, actor.client_id)
        return await _render(
            request,
            company_values(client),
            {},
            status=422,
            client=client,
            preferences={"auto_send": auto_send, "default_template": default or ""},
            preference_errors=errors_by_field(request, exc.errors),
        )
    flash(request, request.state.gettext("Document preferences saved."))
    return redirect("/profile")


@page()
async def change_password(request: Request) -> Response:
    """Change one's own password (the current one proves it is really the user); every other
    session ends and the API tokens are revoked, this browser stays signed in."""
    cabinet = cabinet_of(request)
    actor = actor_of(request)
    form = await read_form(request)
    try:
        await run(
            cabinet.users.change_own_password,
            actor,
            current=form.get("current_password", ""),
            new=form.get("new_password", ""),
            keep_session=session_secret(request.session),
        )
    except ValidationError as exc:
        client = None
        values: dict[str, str] = {}
        if actor.role is Role.CLIENT and actor.client_id is not None:
            client = await run(cabinet.clients.get, actor, actor.client_id)
            values = company_values(client)
        return await _render(
            request,
            values,
            {},
            status=422,
            client=client,
            password_errors=errors_by_field(request, exc.errors),
        )
    flash(
        request,
        request.state.gettext(
            "Password changed. You were signed out everywhere else and your API tokens "
            "were revoked."
        ),
    )
    return redirect("/profile")


@page()
async def end_other_sessions(request: Request) -> Response:
    """Sign out every other browser of the user."""
    cabinet = cabinet_of(request)
    await run(cabinet.sessions.end_others, actor_of(request), session_secret(request.session))
    flash(request, request.state.gettext("You were signed out everywhere else."))
    return redirect("/profile")


@page()
async def save_notifications(request: Request) -> Response:
    """Save which notifications the user also gets by e-mail (a ticked box: yes)."""
    form = await read_form(request)
    choices = {kind: form.get(f"email.{kind}") == "1" for kind in EMAIL_KINDS}
    await run(cabinet_of(request).notifications.set_email_preferences, actor_of(request), choices)
    flash(request, request.state.gettext("Your notification settings are saved."))
    return redirect("/profile#notifications")


ROUTES = [
    Route("/profile/password", change_password, methods=["POST"], name="profile_password"),
    Route("/profile/sessions/end", end_other_sessions, methods=["POST"], name="profile_sessions"),
    Route("/profile", profile, methods=["GET"], name="profile"),
    Route("/profile/company", save_company, methods=["POST"], name="profile_company"),
    Route("/profile/preferences", save_preferences, methods=["POST"], name="profile_preferences"),
    Route(
        "/profile/notifications",
        save_notifications,
        methods=["POST"],
        name="profile_notifications",
    ),
]
