"""Typed errors: every failure a user can cause carries a code, a message and a hint.

Codes are stable strings (``E-DATA-003``) so the CLI, the app and scripts can
act on them. The message says what went wrong in plain language; the hint says
what to do next.
"""
from __future__ import annotations


class CQOxError(Exception):
    """Base class for every error CQOx raises on purpose."""

    code: str = "E-CQOX-000"

    def __init__(self, message: str, hint: str = "", *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message, "hint": self.hint}}

    def __str__(self) -> str:  # shown by the CLI and the app
        return f"[{self.code}] {self.message}" + (f" Hint: {self.hint}" if self.hint else "")


class DataError(CQOxError):
    """The file or frame cannot be read or is unusable (E-DATA-xxx)."""

    code = "E-DATA-000"


class RoleError(CQOxError):
    """Roles are missing, point at absent columns or at unusable values (E-ROLE-xxx)."""

    code = "E-ROLE-000"


class EstimationError(CQOxError):
    """The method cannot produce an honest number on this data (E-EST-xxx)."""

    code = "E-EST-000"


class MethodError(CQOxError):
    """Unknown method or bad parameter (E-METHOD-xxx)."""

    code = "E-METHOD-000"
