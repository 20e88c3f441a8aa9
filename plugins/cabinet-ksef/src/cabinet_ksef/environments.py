"""The three KSeF environments (MF's TEST, DEMO and production) and their hosts.

Any other base URL (the local emulator, a proxy) may be given to the client instead; the
environments only name the official ones.
"""

from __future__ import annotations

from enum import StrEnum


class Environment(StrEnum):
    """An official KSeF environment (środowisko): TE (test), DEMO (pre-production) or PRD."""

    TEST = "test"
    DEMO = "demo"
    PRODUCTION = "production"

    @property
    def api_base_url(self) -> str:
        """The API base every path is appended to (API 2.0: no ``/api`` prefix, ``/v2`` suffix)."""
        return _API_BASE_URLS[self]

    @property
    def latarnia_url(self) -> str | None:
        """MF's status service (Latarnia) of the environment; DEMO has none (ksef-api.md §1)."""
        return _LATARNIA_URLS.get(self)

    @property
    def qr_base_url(self) -> str:
        """The host the verification codes (KOD I, KOD II) printed on invoices point at."""
        return _QR_BASE_URLS[self]


_API_BASE_URLS = {
    Environment.TEST: "https://api-test.ksef.mf.gov.pl/v2",
    Environment.DEMO: "https://api-demo.ksef.mf.gov.pl/v2",
    Environment.PRODUCTION: "https://api.ksef.mf.gov.pl/v2",
}

_LATARNIA_URLS = {
    Environment.TEST: "https://api-latarnia-test.ksef.mf.gov.pl",
    Environment.PRODUCTION: "https://api-latarnia.ksef.mf.gov.pl",
}

_QR_BASE_URLS = {
    Environment.TEST: "https://qr-test.ksef.mf.gov.pl",
    Environment.DEMO: "https://qr-demo.ksef.mf.gov.pl",
    Environment.PRODUCTION: "https://qr.ksef.mf.gov.pl",
}


def api_base_url(environment_or_base: Environment | str) -> str:
    """The API base URL of an environment, or the given base URL itself (without a trailing /)."""
    if isinstance(environment_or_base, Environment):
        return environment_or_base.api_base_url
    return environment_or_base.rstrip("/")


def qr_base_url(environment_or_base: Environment | str) -> str:
    """The verification host of an environment, or the given base URL itself (no trailing /)."""
    if isinstance(environment_or_base, Environment):
        return environment_or_base.qr_base_url
    return environment_or_base.rstrip("/")
