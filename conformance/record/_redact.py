"""Keep secrets out of everything we write: recorded headers, bodies, events, curl lines, URLs.

A hostile or careless server may echo the key back (in an error message, say), and not only
verbatim: JSON-escaped (``\\u0073k-...``, which a check's ``json.loads`` turns back into the key),
base64-encoded (alone, as ``Bearer <key>``, at any offset inside a longer string), URL-encoded or
HTML-escaped. Each secret is therefore compiled into patterns that match every such form (escapes of
any or all of its characters), and every recorded byte is scrubbed once, at record time, both raw and
as JSON-decoded text: checks, findings and reports derive from the recording, so they never see the key.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import json
import re
import shlex
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote_plus, urlsplit, urlunsplit

from .. import _json
from .exchange import Exchange, RecordedRequest

if TYPE_CHECKING:
    from .http import Target

REDACTED = "<redacted>"
_SECRET_HINTS = ("auth", "key", "token", "secret", "cookie", "password", "passwd", "credential", "signature")
#: query parameters that carry a credential although their name has none of the hints above
_SECRET_QUERY_NAMES = frozenset({"sig", "code", "pass", "pwd", "pw"})
#: the shortest base64 run (characters) redacted as a secret's encoding: shorter runs would hit ordinary text
_MIN_BASE64_CORE = 8
_HTML_NAMED = {"&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos"}
_JSON_SHORT = {"/": r"\/", '"': r'\"', "\\": r"\\"}


def _looks_secret(header: str) -> bool:
    lname = header.lower()
    return any(hint in lname for hint in _SECRET_HINTS)


def _is_secret_param(name: str) -> bool:
    return _looks_secret(name) or name.lower() in _SECRET_QUERY_NAMES


def _hexcase(digits: str) -> str:
    """A regex for these hex digits in either case (``2f`` matches ``2F`` too)."""
    return "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in digits)


def _char_forms(char: str, literal: str) -> str:
    """Every way a server may spell ``char``: itself, a JSON ``\\u`` (or short) escape, percent-encoding
    (``+`` for a space), an HTML character reference. ``literal`` is how the character itself appears
    in the text being scrubbed (its UTF-8 bytes seen as Latin-1 when scrubbing raw bytes)."""
    code = ord(char)
    forms = [re.escape(literal)]
    if code < 0x10000:
        forms.append("\\\\u" + _hexcase(f"{code:04x}"))
    else:
        high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
        forms.append("\\\\u" + _hexcase(f"{high:04x}") + "\\\\u" + _hexcase(f"{low:04x}"))
    if char in _JSON_SHORT:
        forms.append(re.escape(_JSON_SHORT[char]))
    forms.append("".join("%" + _hexcase(f"{byte:02x}") for byte in char.encode("utf-8")))
    if char == " ":
        forms.append("\\+")
    forms.append("&#[xX]0*" + _hexcase(f"{code:x}") + ";?")
    forms.append(f"&#0*{code};?")
    if char in _HTML_NAMED:
        forms.append(f"&{_HTML_NAMED[char]};")
    return "(?:" + "|".join(forms) + ")"


def _spelled(text: str, raw_bytes: bool) -> str:
    """A regex matching ``text`` with any or all of its characters escaped (see :func:`_char_forms`)."""
    return "".join(_char_forms(c, c.encode("utf-8").decode("latin-1") if raw_bytes else c) for c in text)


def base64_cores(secret: str) -> list[str]:
    """The base64 runs that encode ``secret`` wherever it sits in a longer string (``Bearer <key>``, ``user:pw``).

    Base64 works on 3-byte groups, so a string embedded at offset 0, 1 or 2 (mod 3) encodes three ways; the
    characters that mix in bits of the neighbouring bytes are left out, the rest is fixed by the secret alone.
    Standard and URL-safe alphabets both."""
    data = secret.encode("utf-8")
    cores: list[str] = []
    for offset, skip in ((0, 0), (1, 2), (2, 3)):
        encoded = base64.b64encode(b"\0" * offset + data).decode("ascii")
        core = encoded[skip: (8 * (offset + len(data))) // 6]
        if len(core) >= _MIN_BASE64_CORE:
            cores += [core, core.translate(str.maketrans("+/", "-_"))]
    return list(dict.fromkeys(cores))


@functools.lru_cache(maxsize=32)
def _compiled(secrets: tuple[str, ...], raw_bytes: bool) -> re.Pattern[str] | None:
    """One pattern for every form of every secret (compiled once per redactor)."""
    if not secrets:
        return None
    forms = [_spelled(s, raw_bytes) for s in sorted(secrets, key=len, reverse=True)]
    forms += [_spelled(core, raw_bytes) for s in secrets for core in base64_cores(s)]
    return re.compile("|".join(forms))


def query_secrets(url: str) -> list[str]:
    """Values of credential-bearing query parameters (``?api_key=...``, ``&sig=...``) in ``url``."""
    return [v for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=False) if _is_secret_param(k) and v]


def safe_url(url: str) -> str:
    """``url`` fit to print or name a file after: no ``user:password@``, credential query values redacted."""
    try:
        parts = urlsplit(url)
        host = parts.netloc.rpartition("@")[2]
        query = "&".join(f"{k}={REDACTED if _is_secret_param(unquote_plus(k)) else v}" if sep else k
                         for k, sep, v in (pair.partition("=") for pair in parts.query.split("&") if pair))
        return urlunsplit((parts.scheme, host, parts.path, query, parts.fragment))
    except ValueError:
        return REDACTED


_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def inert(text: str) -> str:
    """``text`` safe to print on a terminal: control characters (ESC, BEL, CR, C1, bidi overrides) shown as
    ``\\xNN``/``\\uNNNN`` escapes, so a server's ``ESC]0;...BEL`` or ``ESC[2J`` cannot retitle or clear the
    reader's terminal, nor a CR overwrite a line. Newlines and tabs stay: reports are multi-line."""
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)


@dataclasses.dataclass(frozen=True)
class Redactor:
    secrets: tuple[str, ...] = ()
    auth_header: str = "Authorization"
    auth_scheme: str = "Bearer"
    key_env: str | None = None

    @classmethod
    def for_target(cls, target: Target) -> Redactor:
        secrets = [s for s in [target.api_key] if s and len(s) >= 4]
        for name, value in target.headers.items():
            if _looks_secret(name) and len(value) >= 4:
                secrets.append(value)
                token = value.split()[-1] if value.split() else ""
                if token != value and len(token) >= 8:  # 'Bearer xyz' given as a header: xyz alone too
                    secrets.append(token)
        secrets += [v for v in query_secrets(target.base_url) if len(v) >= 4]
        return cls(tuple(dict.fromkeys(secrets)), target.auth_header, target.auth_scheme, target.api_key_env)

    def text(self, value: str) -> str:
        pattern = _compiled(self.secrets, False)
        return value if pattern is None else pattern.sub(REDACTED, value)

    def data(self, value: bytes) -> bytes:
        pattern = _compiled(self.secrets, True)
        if pattern is None:
            return value
        return pattern.sub(REDACTED, value.decode("latin-1")).encode("latin-1")

    def decoded(self, value: Any) -> tuple[Any, bool]:
        """``value`` (parsed JSON) with secrets redacted from every string in it, and whether any was."""
        if isinstance(value, str):
            clean = self.text(value)
            return clean, clean != value
        if isinstance(value, list):
            items = [self.decoded(v) for v in value]
            return [v for v, _ in items], any(c for _, c in items)
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            changed = False
            for key, item in value.items():
                (new_key, key_changed), (new_item, item_changed) = self.decoded(key), self.decoded(item)
                out[new_key] = new_item
                changed = changed or key_changed or item_changed
            return out, changed
        return value, False

    def json_text(self, value: str) -> str:
        """Scrub ``value`` as text, then as JSON: a secret that only its decoded strings reveal (one encoding
        inside another) is redacted there too, and the JSON written again."""
        value = self.text(value)
        if "\\" not in value:  # no escapes: the decoded strings are the raw characters, already scrubbed
            return value
        try:
            doc = _json.loads(value)  # bounded: a hostile body must not crash the recording
        except ValueError:
            return value
        clean, changed = self.decoded(doc)
        return json.dumps(clean, ensure_ascii=False) if changed else value

    def json_data(self, value: bytes) -> bytes:
        """:meth:`json_text` for a recorded body (raw bytes scrubbed first, so invalid UTF-8 survives)."""
        value = self.data(value)
        if b"\\" not in value:  # no escapes: the decoded strings are the raw characters, already scrubbed
            return value
        try:
            doc = _json.loads(value.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return value
        clean, changed = self.decoded(doc)
        return json.dumps(clean, ensure_ascii=False).encode("utf-8") if changed else value

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
        """Scrub everything the server sent (and the URL we sent to) in every form, once, at record time."""
        if not self.secrets:
            return ex
        ex.request.url = self.text(ex.request.url)
        ex.curl = self.text(ex.curl)
        ex.headers = [(self.text(k), self.text(v)) for k, v in ex.headers]
        ex.body = self.json_data(ex.body)
        ex.body_tail = self.json_data(ex.body_tail)
        if ex.error:
            ex.error = self.text(ex.error)
        if ex.events is not None:
            ex.events = [
                dataclasses.replace(e, data=self.json_text(e.data), raw=self.data(e.raw),
                                    event=None if e.event is None else self.text(e.event),
                                    id=None if e.id is None else self.text(e.id))
                for e in ex.events
            ]
        return ex
