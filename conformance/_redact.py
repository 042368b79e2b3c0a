"""Keep secrets out of everything we write: recorded headers, bodies, events, curl lines.

A hostile or careless server may echo the key back (in an error message, say), so the
key's value is scrubbed from every recorded byte, not only from the headers we sent.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ._exchange import Exchange, RecordedRequest

if TYPE_CHECKING:
    from .recorder import Target

REDACTED = "<redacted>"
_SECRET_HINTS = ("auth", "key", "token", "secret", "cookie", "password")


def _looks_secret(header: str) -> bool:
    lname = header.lower()
    return any(hint in lname for hint in _SECRET_HINTS)


@dataclasses.dataclass(frozen=True)
class Redactor:
    secrets: tuple[str, ...] = ()
    auth_header: str = "Authorization"
    auth_scheme: str = "Bearer"
    key_env: str | None = None

    @classmethod
    def for_target(cls, target: Target) -> Redactor:
        secrets = [s for s in [target.api_key] if s and len(s) >= 4]
        secrets += [v for k, v in target.headers.items() if _looks_secret(k) and len(v) >= 4]
        return cls(tuple(secrets), target.auth_header, target.auth_scheme, target.api_key_env)

    def text(self, value: str) -> str:
        for secret in self.secrets:
            value = value.replace(secret, REDACTED)
        return value

    def data(self, value: bytes) -> bytes:
        for secret in self.secrets:
            value = value.replace(secret.encode(), REDACTED.encode())
        return value

    def _placeholder(self) -> str:
        return f"${self.key_env}" if self.key_env else REDACTED

    def headers(self, headers: Mapping[str, str], auth_mode: str = "default") -> dict[str, str]:
        out: dict[str, str] = {}
        for name, value in headers.items():
            if name.lower() == self.auth_header.lower() and auth_mode == "default":
                out[name] = f"{self.auth_scheme} {self._placeholder()}".strip()
            elif _looks_secret(name) and auth_mode == "default":
                out[name] = REDACTED
            else:
                out[name] = self.text(value)
        return out

    def curl(self, request: RecordedRequest, auth_mode: str = "default") -> str:
        """A copy-pasteable curl line; the key appears only as ``$ENV_VAR`` or ``<redacted>``."""
        parts = ["curl", "-sS"]
        if request.stream:
            parts.append("-N")
        encodings = next((v for k, v in request.headers.items() if k.lower() == "accept-encoding"), "")
        if encodings.strip() not in ("", "identity"):
            parts.append("--compressed")  # we asked for compression, and decoded it: so must curl
        parts += ["-X", request.method, shlex.quote(request.url)]
        for name, value in request.headers.items():
            if value.startswith(f"{self.auth_scheme} $") and self.key_env:
                parts += ["-H", f'"{name}: {value}"']  # double quotes so the shell expands $VAR
            else:
                parts += ["-H", shlex.quote(f"{name}: {value}")]
        if request.raw_body is not None:
            parts += ["--data-raw", shlex.quote(self.text(request.raw_body))]
        elif request.body is not None:
            parts += ["--data-raw", shlex.quote(self.text(json.dumps(request.body, ensure_ascii=False)))]
        return " ".join(parts)

    def exchange(self, ex: Exchange) -> Exchange:
        if not self.secrets:
            return ex
        ex.body = self.data(ex.body)
        ex.body_tail = self.data(ex.body_tail)
        if ex.error:
            ex.error = self.text(ex.error)
        if ex.events is not None:
            ex.events = [
                dataclasses.replace(e, data=self.text(e.data), raw=self.data(e.raw)) for e in ex.events
            ]
        return ex
