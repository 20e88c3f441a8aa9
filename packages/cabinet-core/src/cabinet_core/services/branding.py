"""The firm's branding kept in the database: name, colours, logo and host name.

Set by admins on the settings page; an operator's environment variable (:data:`ENVIRONMENT`:
the firm name, colours and logo URL ``Settings.from_env`` reads, and the host name) still wins
over the stored value, and what neither sets falls back to the installation's :class:`Branding`.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import time

import attrs

from cabinet_core import access
from cabinet_core.contrast import AA_NORMAL_TEXT, HEX_COLOUR, contrast_ratio
from cabinet_core.entities import Actor
from cabinet_core.errors import N_, FieldError, NotFound
from cabinet_core.services._base import Service, raise_if
from cabinet_core.settings import DEFAULT_BASE_URL, Branding

#: The settings key of the stored branding fields and of the logo.
BRANDING_KEY = "branding"
LOGO_KEY = "branding.logo"
#: Where the web serves the stored logo.
LOGO_PATH = "/branding/logo"
#: A logo is a header image, not a photograph: 256 KiB is plenty, and it lives in the database.
LOGO_MAX_BYTES = 256 * 1024
#: Raster formats only, recognised by their first bytes (an SVG could carry script).
LOGO_TYPES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/webp": (b"RIFF",),
}
#: The colours text is drawn in on each brand colour (see cabinet.css).
TEXT_ON = {"primary_color": "#ffffff", "accent_color": "#000000"}
#: Which environment variable overrides each field (``Settings.from_env`` reads the first four
#: under the same names).
ENVIRONMENT = {
    **{
        field: f"CABINET_{field.upper()}"
        for field in ("firm_name", "primary_color", "accent_color", "logo_url")
    },
    "host_name": "CABINET_HOST_NAME",
}
#: One DNS label (RFC 1123); a host name is up to 253 characters of them joined by dots.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*")
FIRM_NAME_MAX = 200
#: How long a process reuses the effective branding it read (every page shows it). A change is
#: seen at once by the process that made it, within this many seconds by the others.
EFFECTIVE_TTL_SECONDS = 5.0


@attrs.frozen(kw_only=True)
class BrandingForm:
    """What the branding page shows: the stored values, the effective branding, and which
    fields the environment sets (those the page cannot change)."""

    stored: dict[str, str]
    effective: Branding
    host_name: str
    from_environment: tuple[str, ...]
    has_logo: bool


@attrs.frozen(kw_only=True)
class Logo:
    """The stored logo: its bytes and media type."""

    content: bytes
    media_type: str
    digest: str


class BrandingService(Service):
    """``cabinet.branding``: the branding every page shows; admins change it, audited."""

    _cached: tuple[float, Branding] | None = None
    _cache_lock = threading.Lock()

    def forget(self) -> None:
        """Drop the cached effective branding (after a change, or a test's direct write)."""
        with self._cache_lock:
            self._cached = None

    def _environment(self) -> dict[str, str]:
        env = self.cabinet.settings.environment
        return {field: env[name] for field, name in ENVIRONMENT.items() if env.get(name)}

    def effective(self) -> Branding:
        """The branding to show: environment, then the stored values, then the defaults.

        Every page asks, so the answer is kept for :data:`EFFECTIVE_TTL_SECONDS` (a stored
        logo is up to 256 KiB of JSON: not to be read per page)."""
        cached = self._cached
        now = time.monotonic()
        if cached is not None and now - cached[0] < EFFECTIVE_TTL_SECONDS:
            return cached[1]
        with self.store.transaction(readonly=True) as tx:
            stored = dict(tx.get_setting(BRANDING_KEY) or {})
            logo = tx.get_setting(LOGO_KEY)
        branding = self._merge(stored, logo)
        with self._cache_lock:
            self._cached = (now, branding)
        return branding

    def public_url(self) -> str:
        """The cabinet's address for links made without a request (e-mails, the CRM), without
        a trailing slash: the operator's ``CABINET_BASE_URL`` when set, else
        ``https://<host name>`` when the branding names one, else the default base URL."""
        settings = self.cabinet.settings
        explicit = bool(settings.environment.get("CABINET_BASE_URL")) or (
            settings.base_url != DEFAULT_BASE_URL
        )
        if not explicit:
            host = self._environment().get("host_name")
            if not host:
                with self.store.transaction(readonly=True) as tx:
                    host = str((tx.get_setting(BRANDING_KEY) or {}).get("host_name") or "")
            if host:
                return f"https://{host}"
        return settings.base_url.rstrip("/")

    def for_documents(self) -> Branding:
        """:meth:`effective`, with a stored logo as a ``data:`` URL: a PDF renderer embeds it
        without fetching anything (it never reads the web address the pages use)."""
        with self.store.transaction(readonly=True) as tx:
            stored = dict(tx.get_setting(BRANDING_KEY) or {})
            logo = tx.get_setting(LOGO_KEY)
        branding = self._merge(stored, logo)
        if logo is not None and not self._environment().get("logo_url"):
            data_url = f"data:{logo['media_type']};base64,{logo['data']}"
            branding = attrs.evolve(branding, logo_url=data_url)
        return branding

    def _merge(self, stored: dict[str, str], logo: dict[str, str] | None) -> Branding:
        base = self.cabinet.settings.branding
        environment = self._environment()

        def pick(field: str, fallback: str) -> str:
            return environment.get(field) or stored.get(field) or fallback

        logo_url = f"{LOGO_PATH}?v={logo['digest'][:12]}" if logo else base.logo_url
        return Branding(
            firm_name=pick("firm_name", base.firm_name),
            primary_color=pick("primary_color", base.primary_color),
            accent_color=pick("accent_color", base.accent_color),
            logo_url=environment.get("logo_url") or logo_url,
        )

    def form(self, actor: Actor) -> BrandingForm:
        """The branding page's content (admins only)."""
        access.require(access.can_change_settings(actor))
        with self.store.transaction(readonly=True) as tx:
            stored = dict(tx.get_setting(BRANDING_KEY) or {})
            logo = tx.get_setting(LOGO_KEY)
        environment = self._environment()
        return BrandingForm(
            stored=stored,
            effective=self._merge(stored, logo),
            host_name=environment.get("host_name") or stored.get("host_name", ""),
            from_environment=tuple(sorted(environment)),
            has_logo=logo is not None,
        )

    def update(
        self,
        actor: Actor,
        *,
        firm_name: str,
        primary_color: str,
        accent_color: str,
        host_name: str = "",
    ) -> None:
        """Store the branding fields, refusing a colour whose text would be unreadable (below
        WCAG AA, 4.5:1) and a host name that is not one; audited with old and new values."""
        access.require(access.can_change_settings(actor))
        values = {
            "firm_name": firm_name.strip(),
            "primary_color": primary_color.strip().lower(),
            "accent_color": accent_color.strip().lower(),
            "host_name": host_name.strip().lower().rstrip("."),
        }
        raise_if(_errors(values))
        with self.store.transaction() as tx:
            old = dict(tx.get_setting(BRANDING_KEY) or {})
            if old == values:
                return
            tx.set_setting(BRANDING_KEY, values)
            self.record(
                tx,
                actor,
                action="branding.update",
                entity="setting",
                entity_id=None,
                client_id=None,
                detail={"key": BRANDING_KEY, "old": old, "new": values},
            )
        self.forget()

    def set_logo(self, actor: Actor, content: bytes, media_type: str) -> None:
        """Store the logo (PNG, JPEG or WebP up to :data:`LOGO_MAX_BYTES`, recognised by its
        content, not by the name the browser sent)."""
        access.require(access.can_change_settings(actor))
        problems: list[FieldError] = []
        if not content:
            problems.append(
                FieldError(field="logo", code="required", message=N_("Choose an image file."))
            )
        elif len(content) > LOGO_MAX_BYTES:
            problems.append(
                FieldError(
                    field="logo",
                    code="too_large",
                    message=N_("The logo may be at most %(kib)s KiB."),
                    params={"kib": LOGO_MAX_BYTES // 1024},
                )
            )
        else:
            sniffed = next(
                (
                    kind
                    for kind, magics in LOGO_TYPES.items()
                    if any(content.startswith(magic) for magic in magics)
                    and (kind != "image/webp" or content[8:12] == b"WEBP")
                ),
                None,
            )
            if sniffed is None:
                problems.append(
                    FieldError(
                        field="logo",
                        code="type",
                        message=N_("The logo must be a PNG, JPEG or WebP image."),
                    )
                )
            else:
                media_type = sniffed
        raise_if(problems)
        digest = hashlib.sha256(content).hexdigest()
        with self.store.transaction() as tx:
            tx.set_setting(
                LOGO_KEY,
                {
                    "media_type": media_type,
                    "digest": digest,
                    "data": base64.b64encode(content).decode("ascii"),
                },
            )
            self.record(
                tx,
                actor,
                action="branding.logo",
                entity="setting",
                entity_id=None,
                client_id=None,
                detail={"key": LOGO_KEY, "bytes": len(content), "sha256": digest},
            )
        self.forget()

    def remove_logo(self, actor: Actor) -> None:
        """Go back to the installation's logo (or none)."""
        access.require(access.can_change_settings(actor))
        with self.store.transaction() as tx:
            if tx.get_setting(LOGO_KEY) is None:
                return
            tx.delete_setting(LOGO_KEY)
            self.record(
                tx,
                actor,
                action="branding.logo_removed",
                entity="setting",
                entity_id=None,
                client_id=None,
                detail={"key": LOGO_KEY},
            )
        self.forget()

    def logo(self) -> Logo:
        """The stored logo (public: it is on the sign-in page)."""
        with self.store.transaction(readonly=True) as tx:
            stored = tx.get_setting(LOGO_KEY)
        if stored is None:
            raise NotFound(N_("Not found"), entity="logo", id=None)
        return Logo(
            content=base64.b64decode(stored["data"]),
            media_type=stored["media_type"],
            digest=stored["digest"],
        )


def _errors(values: dict[str, str]) -> list[FieldError]:
    found: list[FieldError] = []
    if not values["firm_name"]:
        found.append(
            FieldError(field="firm_name", code="required", message=N_("This field is required."))
        )
    elif len(values["firm_name"]) > FIRM_NAME_MAX:
        found.append(
            FieldError(
                field="firm_name",
                code="too_long",
                message=N_("Use at most %(max)s characters."),
                params={"max": FIRM_NAME_MAX},
            )
        )
    for field, text in TEXT_ON.items():
        colour = values[field]
        if not HEX_COLOUR.fullmatch(colour):
            found.append(
                FieldError(field=field, code="colour", message=N_("Enter a colour as #rrggbb."))
            )
            continue
        ratio = contrast_ratio(text, colour)
        if ratio < AA_NORMAL_TEXT:
            found.append(
                FieldError(
                    field=field,
                    code="contrast",
                    message=N_(
                        "Text on this colour would be hard to read: contrast %(ratio)s:1, "
                        "WCAG AA needs at least 4.5:1."
                    ),
                    params={"ratio": f"{ratio:.2f}"},
                )
            )
    host = values["host_name"]
    if host and not _HOST.fullmatch(host):
        found.append(
            FieldError(
                field="host_name",
                code="host",
                message=N_("Enter a host name such as cabinet.example.pl."),
            )
        )
    return found
