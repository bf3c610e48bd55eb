"""The one error type of the hall's operations; the HTTP layer turns it into
{"error": code, "message": ...} with its status."""
from __future__ import annotations


class HallError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.extra = status, code, message, extra

    def body(self) -> dict:
        return {"error": self.code, "message": self.message, **self.extra}


def bad_request(code: str, message: str, **extra) -> HallError:
    return HallError(400, code, message, **extra)


def not_found(message: str) -> HallError:
    return HallError(404, "not_found", message)


def found_or_404(value, message: str):
    """`value` itself, or a 404 with `message` where there is none."""
    if value is None:
        raise not_found(message)
    return value


def conflict(code: str, message: str, **extra) -> HallError:
    return HallError(409, code, message, **extra)
