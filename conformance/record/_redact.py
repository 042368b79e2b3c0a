"""Keep secrets out of everything we write: recorded headers, bodies, events, curl lines, URLs.

A hostile or careless server may echo the key back (in an error message, say), and not only
verbatim: JSON-escaped (``\\u0073k-...``, which a check's ``json.loads`` turns back into the key),
base64-encoded (alone, as ``Bearer <key>``, at any offset inside a longer string), URL-encoded or
HTML-escaped. Each secret is therefore compiled into patterns that match every such form (escapes of
any or all of its characters), and every recorded byte is scrubbed once, at record time, both raw and
as JSON-decoded text: checks, findings and reports derive from the recording, so they never see the key.

Encodings nest: a header may carry base64 of a JSON document holding the ``\\u``-escaped key (a token, a
cookie, a JWT-like blob), or a URL-encoded base64 of it. No pattern can spell those, so each token (a run
without spaces, quotes or JSON punctuation) that could hide one is decoded instead, up to
:data:`_NESTED_DEPTH` layers of base64 (either alphabet, any alignment), percent-encoding, JSON and HTML
escapes, and redacted whole when a layer reveals a secret. Decoding only finds: nothing is redacted
unless a secret is really there, and the work per text is bounded (:data:`_NESTED_BUDGET`).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import html
import json
import re
import shlex
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, unquote_plus, urlsplit, urlunsplit

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


#: layers of encoding undone to look for a secret inside a token (base64 of JSON of a \u-escape is three)
_NESTED_DEPTH = 3
_URLSAFE = str.maketrans("-_", "+/")
_MARKERS = re.compile(r"[%&\\]")
_JSON_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|([\"\\/bfnrt]))")
_JSON_SHORT_CHARS = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_PERCENT = re.compile(r"%([0-9a-fA-F]{2})")
#: decoded characters looked at per scrubbed text, as a multiple of its size, on top of a fixed allowance: the
#: four alignments of a base64 run decode to three times its size; nothing hostile can make it cost more
_NESTED_BUDGET = 4
_NESTED_ALLOWANCE = 1 << 20
#: base64 runs longer than this are decoded once, not from each of the four alignments
_ALIGNED_RUN = 4096


def _json_unescape(text: str) -> str:
    out = _JSON_ESCAPE.sub(lambda m: chr(int(m[1], 16)) if m[1] else _JSON_SHORT_CHARS.get(m[2], m[2]), text)
    return out.encode("utf-16", "surrogatepass").decode("utf-16", "replace")  # \ud83d\ude00 pairs joined


def _unescaped(text: str) -> str:
    """``text`` with its JSON escapes, HTML references and percent-encoding undone (one layer of each; the
    percent-encoded bytes read as Latin-1: the spellings looked for below the top layer are ASCII)."""
    if "\\" in text:
        text = _json_unescape(text)
    if "&" in text:
        text = html.unescape(text)
    if "%" in text:
        text = _PERCENT.sub(lambda m: chr(int(m[1], 16)), text)
    return text


@functools.lru_cache(maxsize=32)
def _shapes(shortest: int) -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str], re.Pattern[bytes]]:
    """What can hold an encoded secret of ``shortest`` characters or more: every decoding here shrinks a text
    and every spelling of a secret is at least as long as the secret, so shorter stretches are skipped.

    A token (a run without spaces, quotes, JSON or HTML punctuation), a base64 run (either alphabet, its
    ``+ / =`` possibly percent-encoded), a piece of one between paddings, printable ASCII in decoded bytes."""
    run = -(-4 * shortest // 3)  # base64 of n bytes takes at least 4n/3 characters
    # each starts only where its class starts (the look-behind): a scan never re-reads the inside of a
    # shorter run, so it stays linear whatever the text
    token, base64_run, piece, printable = r"""[^\s"'<>,;{}\[\]()|]""", r"[A-Za-z0-9+/_%=-]", r"[A-Za-z0-9+/_-]", r"[\x20-\x7e]"
    return (re.compile(rf"(?<!{token}){token}{{{shortest},}}"), re.compile(rf"(?<!{base64_run}){base64_run}{{{run},}}"),
            re.compile(rf"(?<!{piece}){piece}{{{run},}}(=*)"),
            re.compile(rf"(?<!{printable}){printable}{{{shortest},}}".encode("ascii")))


class _NestedSearch:
    """One search for secrets under layers of encoding, over one scrubbed text, within a budget."""

    def __init__(self, pattern: re.Pattern[str], shortest: int, size: int) -> None:
        self.pattern = pattern
        self.shortest = shortest
        self.token, self.run, self.piece, self.printable = _shapes(shortest)
        self.left = _NESTED_BUDGET * size + _NESTED_ALLOWANCE

    def may_hide(self, token: str) -> bool:
        return bool(_MARKERS.search(token) or self.run.search(token))

    def reveals(self, text: str, depth: int = _NESTED_DEPTH) -> bool:
        """Whether a layer below ``text`` (down to ``depth`` layers) spells a secret."""
        for layer in self._layers(text):
            if self.pattern.search(layer) or (depth > 1 and self.reveals(layer, depth - 1)):
                return True
        return False

    def _take(self, text: str) -> bool:
        self.left -= len(text)
        return self.left >= 0

    def _layers(self, text: str) -> Iterator[str]:
        """Each text one decoding step below ``text``: unescaped, and the printable stretches of every base64
        run in it decoded from each of the four alignments (a run may start with characters that are not
        part of the encoding: ``sig-eyJ...``). Binary is skipped: a literal secret under one base64 layer is
        already matched by its base64 spellings one layer up. Stops when the budget is spent."""
        if _MARKERS.search(text):
            plain = _unescaped(text)
            if plain != text and len(plain) >= self.shortest:
                if not self._take(plain):
                    return
                yield plain
        for run in self.run.finditer(text):
            for found in self.piece.finditer(unquote(run[0]) if "%" in run[0] else run[0]):  # '=' ends a piece
                piece, padding = found[0][: len(found[0]) - len(found[1])], found[1]
                if "-" in piece or "_" in piece:  # url-safe (a huge standard run is not copied for nothing)
                    piece = piece.translate(_URLSAFE)
                # padded, the encoding ends at a multiple of 4: that fixes where it starts (one decoding); a long
                # unpadded run is a blob (an image, a file), read from its start: a prefix glued to a
                # base64 value is a short token's habit (``sig-eyJ...``)
                if padding or len(piece) > _ALIGNED_RUN:
                    starts: range | list[int] = [(len(piece) + len(padding)) % 4]
                else:
                    starts = range(4)
                for start in starts:
                    chunk = piece[start:]
                    chunk = chunk[: len(chunk) - 1] if len(chunk) % 4 == 1 else chunk + "=" * (-len(chunk) % 4)
                    try:
                        decoded = base64.b64decode(chunk, validate=True)
                    except (binascii.Error, ValueError):
                        continue
                    for printable in self.printable.finditer(decoded):  # on the bytes: no text copy of a blob
                        text = printable[0].decode("ascii")
                        if not self._take(text):
                            return
                        yield text


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
        if pattern is None:
            return value
        return self._nested(pattern.sub(REDACTED, value), raw_bytes=False)

    def data(self, value: bytes) -> bytes:
        pattern = _compiled(self.secrets, True)
        if pattern is None:
            return value
        return self._nested(pattern.sub(REDACTED, value.decode("latin-1")), raw_bytes=True).encode("latin-1")

    def _nested(self, value: str, raw_bytes: bool) -> str:
        """``value`` with every token that hides a secret under layers of encoding redacted whole."""
        shortest = min(len(s) for s in self.secrets)
        if len(value) < shortest:
            return value
        pattern = _compiled(self.secrets, False)
        assert pattern is not None
        search = _NestedSearch(pattern, shortest, len(value))

        def scrub(match: re.Match[str]) -> str:
            token = match[0]
            if not search.may_hide(token):
                return token
            seen = token.encode("latin-1", "replace").decode("utf-8", "replace") if raw_bytes else token
            return REDACTED if search.reveals(seen) else token

        return search.token.sub(scrub, value)

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
        ex.request.path = self.text(ex.request.path)
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
