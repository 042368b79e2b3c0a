"""API errors and their wire rendering (the ``ErrorResponse`` envelope, or a deviation of it)."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass

from ._behaviours import Behaviour


@dataclass
class ApiError(Exception):
    """An error answered to the client: raise it anywhere below the HTTP layer."""

    status: int
    message: str
    param: str | None = None
    code: str | None = None
    type: str = "invalid_request_error"
    validation: bool = False  # a request-validation error (the ones error_status_200/validation_500 bend)
    detail_body: bool = False  # rendered {"detail": message}, not the envelope (deviation refusal_without_envelope)

    def __str__(self) -> str:
        return self.message

    def envelope(self) -> dict[str, object]:
        """The spec's ``ErrorResponse``: ``{"error": {message, type, param, code}}``."""
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def invalid(message: str, param: str | None, code: str | None = "invalid_value") -> ApiError:
    """A 400 request-validation error."""
    return ApiError(400, message, param, code, validation=True)


def not_found(what: str, ident: str) -> ApiError:
    """A 404 for an unknown resource id."""
    return ApiError(404, f"{what} with id '{ident}' not found.", None, "not_found")


def render_error(err: ApiError, behaviour: Behaviour) -> tuple[int, str, bytes]:
    """Return ``(status, content_type, body)`` for ``err``, honouring error deviations."""
    status = err.status
    if behaviour.dev("validation_500") and err.validation:
        body = (
            "Traceback (most recent call last):\n"
            '  File "server.py", line 1, in handle\n'
            f"ValueError: {err.message}\n"
        )
        return 500, "text/plain; charset=utf-8", body.encode()
    if behaviour.dev("error_status_200") and 400 <= status < 500:
        status = 200
    if behaviour.dev("validation_422") and err.validation and status == 400:
        status = 422  # FastAPI's default: the same class of client error, only not OpenAI's code
    if behaviour.dev("error_html"):
        page = (
            f"<!DOCTYPE html><html><head><title>{err.status} Error</title></head>"
            f"<body><h1>{err.status} Error</h1><p>{html.escape(err.message)}</p></body></html>"
        )
        return status, "text/html; charset=utf-8", page.encode()
    payload: dict[str, object]
    if behaviour.dev("error_detail_envelope") or err.detail_body:
        payload = {"detail": err.message}
    else:
        payload = err.envelope()
        if behaviour.dev("error_missing_fields"):
            payload = {"error": {"message": err.message, "type": err.type}}
    return status, "application/json", json.dumps(payload).encode()
