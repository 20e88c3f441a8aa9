"""KSeF's error answers (ksef-api.md §9).

:class:`KsefError` is a 400 with one or more ``(code, description, details)`` entries; it is
written in the legacy ``ExceptionResponse`` envelope unless the request said
``X-Error-Format: problem-details``. :class:`ProblemError` is a 401, 403, 410 or 503, always
``application/problem+json``. :class:`RateLimited` is the 429 (legacy or problem details).
"""

from __future__ import annotations

import uuid
from typing import Any

__all__ = [
    "DESCRIPTIONS",
    "KsefError",
    "ProblemError",
    "RateLimited",
    "forbidden",
    "gone",
    "unauthorized",
    "validation",
]

#: The Polish descriptions of the OpenAPI 400 tables, verbatim.
DESCRIPTIONS: dict[int, str] = {
    21001: "Nieczytelna treść.",
    21111: "Nieprawidłowe wyzwanie autoryzacyjne.",
    21115: "Nieprawidłowy certyfikat.",
    21117: "Nieprawidłowy identyfikator podmiotu dla wskazanego typu kontekstu.",
    21155: "Przekroczono dozwoloną liczbę faktur w sesji.",
    21164: "Faktura o podanym identyfikatorze nie istnieje.",
    21165: "Faktura o podanym numerze KSeF nie jest jeszcze dostępna.",
    21173: "Brak sesji o wskazanym numerze referencyjnym.",
    21175: "Wynik zapytania o podanym identyfikatorze nie istnieje.",
    21178: "Nie znaleziono UPO dla podanych kryteriów.",
    21180: "Status sesji nie pozwala na wykonanie operacji.",
    21182: "Przekroczono limit trwających eksportów.",
    21183: "Zakres filtrowania wykracza poza dostępny zakres danych.",
    21217: "Nieprawidłowe kodowanie znaków.",
    21301: "Brak autoryzacji.",
    21304: "Brak uwierzytelnienia.",
    21401: "Dokument nie jest zgodny ze schemą (xsd).",
    21402: "Nieprawidłowy rozmiar pliku.",
    21403: "Nieprawidłowy skrót pliku.",
    21405: "Błąd walidacji danych wejściowych.",
    21406: "Konflikt podpisu i typu uwierzytelnienia.",
    21418: "Przekazany token kontynuacji ma nieprawidłowy format.",
    21470: "Klucz publiczny o podanym identyfikatorze nie istnieje lub został unieważniony.",
    26001: "Nie można nadać tokenowi uprawnień, których nie posiada podmiot.",
    26002: "Nie można wygenerować tokena dla obecnego typu kontekstu.",
    30001: "Podmiot lub uprawnienie już istnieje.",
    9101: "Nieprawidłowy dokument.",
    9102: "Brak podpisu.",
    9103: "Przekroczona liczba dozwolonych podpisów.",
    9105: "Nieprawidłowy podpis.",
}


def _trace() -> str:
    return uuid.uuid4().hex[:16]


class KsefError(Exception):
    """A synchronous 400 with KSeF exception code ``code``."""

    status = 400

    def __init__(
        self, code: int, *details: str, description: str | None = None, status: int = 400
    ) -> None:
        self.code = code
        self.description = description or DESCRIPTIONS.get(code, "Błąd.")
        self.details = list(details)
        self.status = status
        super().__init__(f"{code} {self.description} {self.details}")

    def legacy(self, timestamp: str, reference: str | None = None) -> dict[str, Any]:
        """The deprecated ``ExceptionResponse`` envelope."""
        return {
            "exception": {
                "exceptionDetailList": [
                    {
                        "exceptionCode": self.code,
                        "exceptionDescription": self.description,
                        "details": self.details or None,
                    }
                ],
                "referenceNumber": reference,
                "serviceCode": f"00-{_trace()}-00",
                "serviceCtx": "srvKSEFEMU",
                "serviceName": "ksef-emulator",
                "timestamp": timestamp,
            }
        }

    def problem(self, timestamp: str, instance: str) -> dict[str, Any]:
        """``BadRequestProblemDetails``."""
        return {
            "title": "Bad Request",
            "status": 400,
            "instance": instance,
            "detail": "Żądanie jest nieprawidłowe.",
            "errors": [
                {"code": self.code, "description": self.description, "details": self.details}
            ],
            "timestamp": timestamp,
            "traceId": _trace(),
        }


def validation(*details: str) -> KsefError:
    """21405 with the validator's words."""
    return KsefError(21405, *details)


class ProblemError(Exception):
    """A 401/403/410/503 answered as ``application/problem+json``."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra

    def body(self, timestamp: str, instance: str) -> dict[str, Any]:
        """The problem document."""
        return {
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
            "timestamp": timestamp,
            "traceId": _trace(),
            **self.extra,
        }


def unauthorized(detail: str = "Wymagane jest uwierzytelnienie.") -> ProblemError:
    """401 ``UnauthorizedProblemDetails``."""
    return ProblemError(401, "Unauthorized", detail)


def forbidden(required: list[str], present: list[str]) -> ProblemError:
    """403 ``ForbiddenProblemDetails`` with ``reasonCode: missing-permissions``."""
    return ProblemError(
        403,
        "Forbidden",
        "Brak wymaganych uprawnień do wykonania operacji.",
        reasonCode="missing-permissions",
        security={"requiredAnyOfPermissions": required, "presentPermissions": present},
    )


def gone(detail: str) -> ProblemError:
    """410 ``GoneProblemDetails`` (an asynchronous status past its retention)."""
    return ProblemError(410, "Gone", detail)


class RateLimited(Exception):
    """429 with ``Retry-After`` seconds."""

    def __init__(self, retry_after: int, detail: str) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        self.detail = detail

    def legacy(self) -> dict[str, Any]:
        """The deprecated ``TooManyRequestsResponse``."""
        return {
            "status": {"code": 429, "description": "Too Many Requests", "details": [self.detail]}
        }

    def problem(self, timestamp: str, instance: str) -> dict[str, Any]:
        """``TooManyRequestsProblemDetails``."""
        return {
            "title": "Too Many Requests",
            "status": 429,
            "instance": instance,
            "detail": self.detail,
            "timestamp": timestamp,
            "traceId": _trace(),
        }
