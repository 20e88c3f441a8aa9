"""The error a REST method raises inside the emulator; it becomes Bitrix24's error envelope."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """``{"error": code, "error_description": description, **extra}`` with HTTP ``status``."""

    def __init__(
        self, code: str, description: str = "", *, status: int = 400, **extra: Any
    ) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.status = status
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The JSON error envelope."""
        return {"error": self.code, "error_description": self.description, **self.extra}


def not_found(description: str = "Not found") -> ApiError:
    """CRM's ``NOT_FOUND`` (HTTP 400, as ``crm.item.*`` answers it)."""
    return ApiError("NOT_FOUND", description, status=400)


def missing(argument: str) -> ApiError:
    """A required parameter is absent (``crm.item.*`` style)."""
    return ApiError("INVALID_ARG_VALUE", f"Required parameter '{argument}' is missing", status=400)
