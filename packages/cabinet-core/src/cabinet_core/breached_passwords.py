"""An optional check of a new password against a breached-password service, with k-anonymity.

Have I Been Pwned's range API (``https://api.pwnedpasswords.com/range/{prefix}``) answers, for
the first five hex digits of a password's SHA-1, every suffix of the breached passwords that
share them (``SUFFIX:COUNT`` a line). Only the five digits leave the cabinet; the comparison is
made here. ``Add-Padding: true`` asks for dummy suffixes (count 0) so the size of the answer
tells an observer nothing either; a padded suffix with count 0 is not a breach.

Off unless ``Settings.breached_password_url`` is set (``CABINET_BREACHED_PASSWORD_URL``). The
check fails open: when the service cannot be reached, answers an error or takes longer than
``breached_password_timeout`` seconds, the password is accepted on the other rules and a
warning is logged, so an outage never blocks a sign-up or a password change.
"""

from __future__ import annotations

import hashlib
import logging

import httpx

__all__ = ["BreachedPasswordCheck"]

log = logging.getLogger(__name__)


class BreachedPasswordCheck:
    """``check(password)``: whether the range service at ``url`` knows ``password`` as breached.

    ``url`` is the range endpoint's prefix; the five hex digits are appended to it.
    """

    def __init__(
        self, url: str, *, timeout: float = 3.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self.timeout = timeout
        self.transport = transport

    def __call__(self, password: str) -> bool:
        digest = hashlib.sha1(password.encode("utf-8"), usedforsecurity=False).hexdigest().upper()
        prefix, suffix = digest[:5], digest[5:]
        try:
            with httpx.Client(timeout=self.timeout, transport=self.transport) as client:
                answer = client.get(
                    self.url + prefix,
                    headers={"Add-Padding": "true", "User-Agent": "cabinet-password-policy"},
                )
                answer.raise_for_status()
        except httpx.HTTPError as exc:
            log.warning(
                "breached-password check skipped (the password is accepted): %s: %s",
                type(exc).__name__,
                exc,
            )
            return False
        for line in answer.text.splitlines():
            found, _, count = line.strip().partition(":")
            if found.upper() == suffix:
                return count.strip() != "0"
        return False
