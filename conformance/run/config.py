"""The providers file: which endpoints and models ``run --config`` tests, and how.

One file describes a whole comparison (providers × models) so that a matrix is
reproducible and reviewable; it holds no secrets, only the *names* of environment
variables that do. Every problem is reported as ``file:line: message`` (exit 2).
See docs/providers.md for the format.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .._yamlfile import LineDict, YamlFileError, line_of, load_yaml
from ..record.http import Limits

EMBEDDED = "embedded"
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/-]*")
_HEADER_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_TOP_KEYS = {"version", "defaults", "providers"}
_SETTING_KEYS = {"auth", "headers", "timeouts", "concurrency", "rate_limit", "capabilities", "retries"}
_PROVIDER_KEYS = _SETTING_KEYS | {"name", "base_url", "models", "deviations", "variants", "profile"}
_MODEL_KEYS = {"name", "capabilities"}


class ProvidersFileError(YamlFileError):
    """A bad providers file: names file and line."""


@dataclass(frozen=True)
class Auth:
    """How a provider wants its key: ``<header>: <scheme> <key>`` with the key read from ``env``."""

    env: str | None = None
    header: str = "Authorization"
    scheme: str = "Bearer"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    skip_capabilities: tuple[str, ...] = ()
    line: int = 1


@dataclass(frozen=True)
class ProviderSpec:
    name: str
    base_url: str | None  # None = the embedded reference server
    models: tuple[ModelSpec, ...]
    auth: Auth = Auth()
    headers: Mapping[str, tuple[str, int]] = field(default_factory=dict)  # name -> (value, line)
    limits: Limits = Limits()
    concurrency: int = 4
    requests_per_minute: float | None = None
    deviations: tuple[str, ...] = ()
    variants: tuple[str, ...] = ()
    profile: str = "openai"
    line: int = 1

    @property
    def embedded(self) -> bool:
        return self.base_url is None


@dataclass(frozen=True)
class RunTarget:
    """One provider × model to run, with what the file declares about it."""

    provider: ProviderSpec
    model: ModelSpec
    file: str

    @property
    def label(self) -> str:
        return f"{self.provider.name} / {self.model.name}"

    @property
    def skip_capabilities(self) -> tuple[str, ...]:
        return self.model.skip_capabilities


@dataclass(frozen=True)
class ProvidersFile:
    path: Path
    providers: tuple[ProviderSpec, ...]

    def targets(self, providers: Sequence[str] = (), models: Sequence[str] = ()) -> list[RunTarget]:
        """Every provider × model, narrowed by ``--provider``/``--model`` (unknown names are errors)."""
        known_p = {p.name for p in self.providers}
        for name in providers:
            if name not in known_p:
                raise ProvidersFileError(self.path, 1, f"--provider {name!r}: not in this file (have: {', '.join(sorted(known_p))})")
        out = [
            RunTarget(p, m, str(self.path))
            for p in self.providers if not providers or p.name in providers
            for m in p.models if not models or m.name in models
        ]
        if models and not out:
            raise ProvidersFileError(self.path, 1, f"--model {', '.join(models)}: no selected provider lists that model")
        return out


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be split into host and port (``http://[::1/v1``, a port past 65535), or None."""
    try:
        _ = urlsplit(url).port  # splitting the host and port is what raises
    except ValueError as exc:
        return str(exc)
    return None


def _fail(file: Path, line: int, message: str) -> ProvidersFileError:
    return ProvidersFileError(file, line, message)


class _Reader:
    """Validates one mapping after another, always knowing the line to blame."""

    def __init__(self, file: Path) -> None:
        self.file = file

    def mapping(self, value: Any, line: int, what: str, allowed: set[str]) -> LineDict:
        if not isinstance(value, dict):
            raise _fail(self.file, line, f"{what}: expected a mapping, got {type(value).__name__}")
        for key in value:
            if key not in allowed:
                raise _fail(self.file, line_of(value, key, line),
                            f"{what}: unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")
        return value  # type: ignore[return-value]

    def string(self, parent: Any, key: str, what: str, *, required: bool = False, pattern: re.Pattern[str] | None = None) -> str | None:
        line = line_of(parent, key)
        if key not in parent:
            if required:
                raise _fail(self.file, line_of(parent, key), f"{what}: missing required key {key!r}")
            return None
        value = parent[key]
        if not isinstance(value, str) or not value.strip():
            raise _fail(self.file, line, f"{what}.{key}: expected a non-empty string, got {value!r}")
        if pattern is not None and not pattern.fullmatch(value):
            raise _fail(self.file, line, f"{what}.{key}: {value!r} is not a valid name")
        return value

    def number(self, parent: Any, key: str, what: str, *, minimum: float, integer: bool = False) -> float | None:
        if key not in parent:
            return None
        value = parent[key]
        ok = isinstance(value, int) if integer else isinstance(value, (int, float))
        if not ok or isinstance(value, bool) or not math.isfinite(value) or value < minimum:  # .nan, .inf unbound waits
            kind = "an integer" if integer else "a number"
            raise _fail(self.file, line_of(parent, key), f"{what}.{key}: expected {kind} >= {minimum:g}, got {value!r}")
        return float(value)

    def names(self, parent: Any, key: str, what: str) -> tuple[str, ...]:
        if key not in parent:
            return ()
        value = parent[key]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise _fail(self.file, line_of(parent, key), f"{what}.{key}: expected a list of names")
        return tuple(value)

    def capabilities(self, parent: Any, key: str, what: str) -> dict[str, bool]:
        """``{vision: false, tools: true}``; ``false`` means: skip those cases as declared unsupported."""
        if key not in parent:
            return {}
        value = parent[key]
        line = line_of(parent, key)
        if not isinstance(value, dict):
            raise _fail(self.file, line, f"{what}.{key}: expected a mapping such as {{vision: false}}")
        for cap, flag in value.items():
            if not isinstance(flag, bool):
                raise _fail(self.file, line_of(value, cap, line), f"{what}.{key}.{cap}: expected true or false, got {flag!r}")
            if cap == "core" and flag is False:
                raise _fail(self.file, line_of(value, cap, line), f"{what}.{key}.core: core cases cannot be declared unsupported")
        return dict(value)


def _settings(reader: _Reader, raw: LineDict, what: str, base: dict[str, Any]) -> dict[str, Any]:
    """Settings shared by ``defaults`` and each provider; a provider's values override the defaults."""
    out = dict(base)
    if "auth" in raw:
        auth = raw["auth"]
        line = line_of(raw, "auth")
        if auth == "none" or auth is None:
            out["auth"] = Auth()
        else:
            auth = reader.mapping(auth, line, f"{what}.auth", {"env", "header", "scheme"})
            env = reader.string(auth, "env", f"{what}.auth", pattern=re.compile(r"[A-Za-z_][A-Za-z0-9_]*"))
            header = reader.string(auth, "header", f"{what}.auth", pattern=_HEADER_RE) or "Authorization"
            scheme = auth.get("scheme", "Bearer")
            if scheme is None:
                scheme = ""
            if not isinstance(scheme, str) or any(c.isspace() for c in scheme):
                raise _fail(reader.file, line_of(auth, "scheme", line), f"{what}.auth.scheme: expected one word such as Bearer, or '' for the bare key")
            out["auth"] = Auth(env, header, scheme)
    if "headers" in raw:
        headers = raw["headers"]
        line = line_of(raw, "headers")
        if not isinstance(headers, dict):
            raise _fail(reader.file, line, f"{what}.headers: expected a mapping of header name to value")
        merged = dict(out.get("headers", {}))
        for name, value in headers.items():
            hline = line_of(headers, name, line)
            if not isinstance(name, str) or not _HEADER_RE.fullmatch(name):
                raise _fail(reader.file, hline, f"{what}.headers: {name!r} is not a valid header name")
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise _fail(reader.file, hline, f"{what}.headers.{name}: expected a string value (use ${{VAR}} for secrets)")
            merged[name] = (str(value), hline)
        out["headers"] = merged
    if "timeouts" in raw:
        t = reader.mapping(raw["timeouts"], line_of(raw, "timeouts"), f"{what}.timeouts", {"connect", "idle", "deadline"})
        for key in ("connect", "idle", "deadline"):
            value = reader.number(t, key, f"{what}.timeouts", minimum=0.001)
            if value is not None:
                out[f"timeout_{key}"] = value
    if "retries" in raw:
        out["retries"] = int(reader.number(raw, "retries", what, minimum=0, integer=True) or 0)
    if "concurrency" in raw:
        out["concurrency"] = int(reader.number(raw, "concurrency", what, minimum=1, integer=True) or 1)
    if "rate_limit" in raw:
        rl = reader.mapping(raw["rate_limit"], line_of(raw, "rate_limit"), f"{what}.rate_limit", {"requests_per_minute"})
        out["requests_per_minute"] = reader.number(rl, "requests_per_minute", f"{what}.rate_limit", minimum=0.001)
    if "capabilities" in raw:
        caps = dict(out.get("capabilities", {}))
        caps.update(reader.capabilities(raw, "capabilities", what))
        out["capabilities"] = caps
    return out


def _model(reader: _Reader, raw: Any, line: int, what: str, provider_caps: Mapping[str, bool]) -> ModelSpec:
    caps = dict(provider_caps)
    if isinstance(raw, str):
        name = raw
    else:
        entry = reader.mapping(raw, line, what, _MODEL_KEYS)
        name = reader.string(entry, "name", what, required=True) or ""
        caps.update(reader.capabilities(entry, "capabilities", what))
    if not name.strip() or any(c.isspace() for c in name):
        raise _fail(reader.file, line, f"{what}: model name {name!r} must be non-empty without spaces")
    return ModelSpec(name, tuple(sorted(c for c, on in caps.items() if not on)), line)


def _provider(reader: _Reader, raw: Any, line: int, index: int, defaults: dict[str, Any]) -> ProviderSpec:
    what = f"providers[{index}]"
    entry = reader.mapping(raw, line, what, _PROVIDER_KEYS)
    name = reader.string(entry, "name", what, required=True, pattern=_NAME_RE) or ""
    what = f"provider {name!r}"
    base_url = reader.string(entry, "base_url", what, required=True) or ""
    url_line = line_of(entry, "base_url")
    settings = _settings(reader, entry, what, defaults)
    deviations = reader.names(entry, "deviations", what)
    variants = reader.names(entry, "variants", what)
    embedded = base_url == EMBEDDED
    if embedded:
        from ..reference import DEVIATIONS, VARIANTS

        for key, names, known in (("deviations", deviations, DEVIATIONS), ("variants", variants, VARIANTS)):
            for item in names:
                if item not in known:
                    raise _fail(reader.file, line_of(entry, key), f"{what}.{key}: unknown {key[:-1]} {item!r} "
                                "(see responses-conformance serve --list-deviations)")
    else:
        if not re.match(r"^https?://[^/\s]+", base_url) or url_problem(base_url):
            raise _fail(reader.file, url_line, f"{what}.base_url: expected an http(s) URL such as https://api.example.com/v1, "
                        f"or '{EMBEDDED}' for the embedded reference server; got {base_url!r}"
                        + (f" ({url_problem(base_url)})" if url_problem(base_url) else ""))
        if deviations or variants:
            raise _fail(reader.file, line_of(entry, "deviations" if deviations else "variants"),
                        f"{what}: deviations/variants only apply to base_url: {EMBEDDED}")
    profile = entry.get("profile", "openai")
    if profile not in ("openai", "openresponses"):
        raise _fail(reader.file, line_of(entry, "profile"), f"{what}.profile: expected openai or openresponses, got {profile!r}")
    models_raw = entry.get("models")
    models_line = line_of(entry, "models", line)
    if not isinstance(models_raw, list) or not models_raw:
        raise _fail(reader.file, models_line, f"{what}.models: expected a non-empty list of model names")
    caps = settings.get("capabilities", {})
    models = tuple(_model(reader, m, line_of(models_raw, i, models_line), f"{what}.models[{i}]", caps)
                   for i, m in enumerate(models_raw))
    seen: set[str] = set()
    for m in models:
        if m.name in seen:
            raise _fail(reader.file, m.line, f"{what}.models: model {m.name!r} listed twice")
        seen.add(m.name)
    base = Limits()
    limits = Limits(
        connect_timeout_s=settings.get("timeout_connect", base.connect_timeout_s),
        idle_timeout_s=settings.get("timeout_idle", base.idle_timeout_s),
        deadline_s=settings.get("timeout_deadline", base.deadline_s),
        retries=settings.get("retries", base.retries),
        requests_per_minute=settings.get("requests_per_minute"),
    )
    auth: Auth = settings.get("auth", Auth())
    if embedded and auth.env:
        raise _fail(reader.file, line_of(entry, "auth", line), f"{what}.auth: the embedded server makes its own key; drop auth")
    return ProviderSpec(
        name=name, base_url=None if embedded else base_url.rstrip("/"), models=models, auth=auth,
        headers=settings.get("headers", {}), limits=limits, concurrency=settings.get("concurrency", 4),
        requests_per_minute=settings.get("requests_per_minute"), deviations=deviations, variants=variants,
        profile=profile, line=line,
    )


def load_providers(path: Path) -> ProvidersFile:
    """Parse and validate a providers file; raises :class:`ProvidersFileError` naming file:line."""
    try:
        data = load_yaml(path)
    except YamlFileError as exc:
        raise ProvidersFileError(exc.file, exc.line, exc.message) from None
    reader = _Reader(path)
    if data is None:
        raise _fail(path, 1, "empty file (expected a mapping with a 'providers' list)")
    top = reader.mapping(data, 1, "top level", _TOP_KEYS)
    if "version" in top and top["version"] != 1:
        raise _fail(path, line_of(top, "version"), f"version: only version 1 is understood, got {top['version']!r}")
    defaults: dict[str, Any] = {}
    if "defaults" in top:
        raw_defaults = reader.mapping(top["defaults"], line_of(top, "defaults"), "defaults", _SETTING_KEYS)
        defaults = _settings(reader, raw_defaults, "defaults", {})
    providers_raw = top.get("providers")
    pline = line_of(top, "providers")
    if not isinstance(providers_raw, list) or not providers_raw:
        raise _fail(path, pline, "providers: expected a non-empty list (every entry commented out?)")
    providers = []
    names: set[str] = set()
    for i, raw in enumerate(providers_raw):
        spec = _provider(reader, raw, line_of(providers_raw, i, pline), i, defaults)
        if spec.name in names:
            raise _fail(path, spec.line, f"provider {spec.name!r}: name used twice (names key the reports)")
        names.add(spec.name)
        providers.append(spec)
    return ProvidersFile(path, tuple(providers))


def resolve_headers(target: RunTarget, env: Mapping[str, str] | None = None) -> list[str]:
    """Header lines with ``${VAR}`` expanded; an unset variable names the file and line."""
    env = os.environ if env is None else env
    out = []
    for name, (value, line) in target.provider.headers.items():
        def expand(m: re.Match[str], _line: int = line, _name: str = name) -> str:
            var = m.group(1)
            if not env.get(var):
                raise ProvidersFileError(target.file, _line, f"provider {target.provider.name!r}.headers.{_name}: "
                                         f"environment variable {var} is not set or empty")
            return env[var]
        out.append(f"{name}: {_ENV_RE.sub(expand, value)}")
    return out


def check_auth_env(target: RunTarget, env: Mapping[str, str] | None = None) -> None:
    """Fail early, naming the line, when the key's environment variable is missing."""
    env = os.environ if env is None else env
    auth = target.provider.auth
    if auth.env and not env.get(auth.env):
        raise ProvidersFileError(target.file, target.provider.line,
                                 f"provider {target.provider.name!r}.auth.env: environment variable {auth.env} is not set or empty")


def unknown_capabilities(target: RunTarget, known: Iterable[str]) -> list[str]:
    """Declared capabilities that no case uses (likely typos) - reported as warnings."""
    known_set = set(known)
    return [c for c in target.skip_capabilities if c not in known_set]


__all__ = ["EMBEDDED", "Auth", "ModelSpec", "ProviderSpec", "ProvidersFile", "ProvidersFileError", "RunTarget",
           "check_auth_env", "load_providers", "resolve_headers", "unknown_capabilities"]
