"""One conformance run's shared state: target, embedded server, recorder, scheduler, results.

Every entry point (the ``responses-conformance`` command, plain ``pytest --pyargs conformance.suite.cases``
and ``conformance.api.run``) builds a :class:`RunOptions` (conformance/run/options.py) and hands it to
:class:`ConformanceSession`, so they behave identically.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .. import __version__
from ..cases import Case
from ..judge.basis import JudgePolicy
from ..record._redact import inert, safe_url
from ..record.http import ConfigError, Limits, Recorder, Target
from .engine import CaseRecording, CaseResult, Scheduler
from .probes import ProbePreflight, assumed, behavioural_skips, probe_cap, run_preflight
from .shard import Shard

EMBEDDED_PROVIDER = "reference"
EMBEDDED_MODEL = "reference-1"


#: what the preflight asks for: free, and answered by any Responses API (a 404 for this unknown id)
PREFLIGHT_PATH = "/responses/resp_conformance_preflight_0"


@dataclass
class RunOptions:
    base_url: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    auth_header: str = "Authorization"
    auth_scheme: str = "Bearer"
    headers: Sequence[str] = ()
    provider: str | None = None
    profile: str = "openai"
    concurrency: int = 4
    deviations: Sequence[str] = ()
    variants: Sequence[str] = ()
    skip_capabilities: Sequence[str] = ()
    json_path: Path | None = None
    limits: Limits = field(default_factory=Limits)
    shard: Shard | None = None  # --shard I/N: this run holds only that share of the cases
    assume_probes: bool = False  # --assume-probes: no probe preflight; behavioural expectations always judged
    policy: JudgePolicy = field(default_factory=JudgePolicy)  # --spec-strict, --strict-behaviour, --spec-as-of
    max_time_s: float | None = None  # --max-time: cases not started by then are skipped (time limit)
    token_budget: int | None = None  # --token-budget: once this many tokens are billed, no case is started
    output_cap_floor: int | None = None  # --output-cap-floor: the suite's caps raised to at least this (cost.py)
    stop_at: float | None = None  # the monotonic instant --max-time ends (set once per command, shared by targets)
    baseline: Path | None = None  # --baseline: a file, or a directory holding <provider>/<model>.yaml
    baseline_strict: bool = False  # --strict (pytest: --baseline-strict): an unexpected pass fails too
    update_baseline: bool = False  # --update-baseline: rewrite the baseline from this run's results
    fuzz: bool = False  # --fuzz: property-based request fuzzing after the cases (conformance/fuzz, docs/fuzz.md)
    fuzz_seed: int | None = None  # --fuzz-seed: reproduce a fuzz run
    fuzz_examples: int = 100  # --fuzz-examples: hypothesis examples per kind (valid, invalid)
    fuzz_gate: bool = False  # --fuzz-gate: fuzz failures count for the exit code and the baseline


def parse_header(raw: str) -> tuple[str, str]:
    """``'Name: value'`` → (name, value); a malformed header is a usage error naming it."""
    name, sep, value = raw.partition(":")
    if not sep or not name.strip() or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name.strip()):
        raise ConfigError(f"--header {raw!r}: expected 'Name: value'")
    return name.strip(), value.strip()


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "unnamed"


def report_stem(provider: str, model: str, shard: Shard | None = None) -> str:
    """``<provider>__<model>`` (``__shard2of4`` added for a shard), the name of a run's report files.

    The default provider is the base URL's host (:func:`default_provider`), never its userinfo or query."""
    stem = f"{slug(provider)}__{slug(model)}"
    return f"{stem}__{shard.suffix}" if shard else stem


def recorded_stem(meta: Mapping[str, Any]) -> str:
    """The report stem of the live run a recording's ``run`` section describes, so that a re-judged run writes
    under the live run's names (the same matrix column); a shard the section names oddly is left out."""
    from .shard import parse_shard

    try:
        shard = parse_shard(str(meta["shard"])) if meta.get("shard") else None
    except ValueError:
        shard = None
    return report_stem(str(meta.get("provider")), str(meta.get("model")), shard)


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def default_provider(base_url: str) -> str:
    """The provider name a run without ``--provider`` reports under: ``host[:port]`` of the base URL, so no
    ``user:password@`` nor ``?api_key=`` ever names a report file or a results JSON."""
    try:
        parts = urlsplit(base_url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "custom"
    return (f"{host}:{port}" if port else host) or "custom"


def refuse_url_credentials(base_url: str) -> None:
    """Credentials in the URL (``http://user:pw@host/v1``) are refused with one line rather than sent as Basic
    auth: a URL is printed, recorded and copied into curl lines everywhere, and a second way to authenticate
    would compete with ``--api-key-env``. The line never repeats the password."""
    try:
        has_userinfo = "@" in urlsplit(base_url).netloc
    except ValueError:
        has_userinfo = False
    if has_userinfo:
        raise ConfigError(f"--base-url {safe_url(base_url)!r}: credentials in the URL (user:password@) are not "
                          "accepted; pass the key with --api-key-env VAR (or a --header), which reports redact")


def build_target(opts: RunOptions, embedded_url: str | None = None, embedded_key: str | None = None) -> Target:
    """Resolve options into a :class:`Target`, failing with one clear line on bad input."""
    headers = dict(parse_header(h) for h in opts.headers)
    if embedded_url is not None:
        return Target(embedded_url, opts.model or EMBEDDED_MODEL, api_key=embedded_key, headers=headers,
                      provider=opts.provider or EMBEDDED_PROVIDER)
    assert opts.base_url is not None
    refuse_url_credentials(opts.base_url)
    from .config import url_problem

    problem = url_problem(opts.base_url)
    if problem:  # printed without the URL's text: one that cannot be split may still hold a password
        raise ConfigError(f"--base-url {safe_url(opts.base_url)!r}: {problem}; expected an http(s) URL such as "
                          "https://api.example.com/v1")
    if not opts.model:
        raise ConfigError("--model is required with --base-url (the model id to test)")
    key = None
    if opts.api_key_env:
        key = os.environ.get(opts.api_key_env)
        if not key:
            raise ConfigError(f"--api-key-env {opts.api_key_env}: environment variable is not set or empty")
    provider = opts.provider or default_provider(opts.base_url)
    return Target(opts.base_url, opts.model, api_key=key, api_key_env=opts.api_key_env, headers=headers,
                  provider=provider, auth_header=opts.auth_header, auth_scheme=opts.auth_scheme)


def _sdk_version() -> str | None:
    from ..record.sdk import sdk_version

    return sdk_version()


class ConformanceSession:
    """Owns everything a run needs and tears it down; results are kept for the reporters."""

    def __init__(self, opts: RunOptions) -> None:
        self.opts = opts
        self.server: Any = None
        self.started_at = utc_now()
        self.results: dict[str, CaseResult] = {}
        if opts.base_url:
            if opts.deviations or opts.variants:
                raise ConfigError("--deviate/--variant only apply to the embedded reference server (drop --base-url)")
            self.target = build_target(opts)
        else:
            from ..reference import ReferenceServer  # imported lazily: real-endpoint runs never need it

            key = "sk-ref-" + secrets.token_hex(12)
            try:
                self.server = ReferenceServer(api_key=key, deviations=opts.deviations, variants=opts.variants,
                                              profile=opts.profile).start()
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
            self.target = build_target(opts, self.server.base_url, key)
        self.recorder = Recorder(self.target, opts.limits)
        if opts.stop_at is None and opts.max_time_s is not None:
            opts.stop_at = time.monotonic() + opts.max_time_s
        self.recorder.stop_at = opts.stop_at
        self.scheduler = Scheduler(self.recorder, opts.concurrency, stop_at=opts.stop_at,
                                   token_budget=opts.token_budget)
        self.probes: ProbePreflight | None = None
        self.interrupted = False  # Ctrl-C or SIGTERM: the reports are partial and in-flight cases are not awaited
        self.recording: Any = None  # the run's HAR writer (conformance/record/har.py), opened by open_recording
        self._cases_dir: str | None = None

    def open_recording(self, results_json: Path, cases_dir: str | None = None) -> Path:
        """Start the run's lossless recording beside its results file (``x.json`` -> ``x.har.gz``)."""
        from ..record.har import HarWriter, recording_path

        if self.recording is None:
            self.recording = HarWriter(recording_path(results_json))
            self._cases_dir = str(Path(cases_dir).resolve()) if cases_dir else None
        return Path(self.recording.path)

    def record(self, case: Case, rec: CaseRecording | None, result: CaseResult) -> None:
        """Append a finished case to the recording (``rec`` None: nothing was recorded for it); no-op without one."""
        from .rejudge import case_record

        if self.recording is not None:
            self.recording.add(case.id, case_record(rec, result), rec.exchanges if rec is not None else [])

    def finish_recording(self, run_meta: dict[str, Any]) -> Path | None:
        """Close the recording with what re-judging needs (profile, policy, probes...); None without one."""
        if self.recording is None or self.recording.closed:
            return None
        return Path(self.recording.close({
            "suite_version": __version__,
            "judge": {"profile": self.opts.profile, "policy": self.opts.policy.to_dict(), "disabled": [],
                      "skip_capabilities": list(self.opts.skip_capabilities), "follows_probes": self.follows_probes,
                      "probe_preflight": None if self.probes is None else self.probes.to_dict(),
                      "model": self.target.model, "cases_dir": self._cases_dir},
            "run": run_meta,
        }))

    @property
    def embedded(self) -> bool:
        return self.server is not None

    def preflight(self) -> str | None:
        """One free request to tell 'unreachable' and 'bad key' apart from conformance problems."""
        ex = self.recorder.record("preflight", "GET", PREFLIGHT_PATH)
        if ex.error_kind in ("connect", "timeout") or (ex.status is None and ex.error_kind in ("idle_timeout", "deadline")):
            # the last: the connection was accepted but no status line came back within the bounds
            return inert(f"cannot reach {safe_url(self.target.base_url)}: {ex.error}")
        if ex.error_kind == "redirect":  # every request would be redirected, hence error: say it once, up front
            location = safe_url((ex.header("location") or "?")[:300])  # server text: bounded, no credentials
            final = location.removesuffix(PREFLIGHT_PATH) if location.endswith(PREFLIGHT_PATH) else None
            hint = f"use --base-url {final}" if final else "use the final URL as --base-url"
            return inert(f"--base-url {safe_url(self.target.base_url)} redirects (HTTP {ex.status} to {location}); "
                         f"redirects are not followed: {hint}")
        if ex.status in (401, 403):
            body = ex.json_or_none()
            detail = ""
            if isinstance(body, dict) and isinstance(body.get("error"), dict):
                detail = f": {str(body['error'].get('message', ''))[:200]}"
            source = f"${self.target.api_key_env}" if self.target.api_key_env else "no key (use --api-key-env VAR)"
            return inert(f"authentication rejected by {safe_url(self.target.base_url)} (HTTP {ex.status}) with "
                         f"{source}{detail}")
        return None

    def probe_preflight(self) -> ProbePreflight:
        """Does the model follow the probes? Asked once per run, before any case is recorded (conformance/run/probes.py)."""
        if self.probes is None:
            self.probes = (assumed() if self.opts.assume_probes
                           else run_preflight(self.recorder, probe_cap(self.opts.output_cap_floor),
                                              budget=self.opts.token_budget))
            self.scheduler.charge_outside(self.probes.output_tokens, self.probes.total_tokens)
        return self.probes

    @property
    def follows_probes(self) -> bool:
        """What the judge assumes: True until a preflight found a model that ignores the probes."""
        return self.probes is None or self.probes.follows

    def default_json_path(self, root: Path) -> Path:
        return root / "reports" / f"{report_stem(self.target.provider, self.target.model, self.opts.shard)}.json"

    def run_meta(self, complete: bool, results: Sequence[CaseResult] = ()) -> dict[str, Any]:
        """The results JSON ``run`` section; ``results`` count the behavioural expectations skipped."""
        from ..judge.output_cap import cap_cut_skips
        from ..judge.schemas import spec_info

        info = spec_info(self.opts.profile)
        return {
            "provider": self.target.provider,
            "model": self.target.model,
            "base_url": safe_url(self.target.base_url),
            "embedded_reference": self.embedded,
            "profile": self.opts.profile,
            "spec": info,
            "suite_version": __version__,
            "started_at": self.started_at,
            "finished_at": utc_now(),
            "complete": complete,
            "deviations": list(self.opts.deviations),
            "variants": list(self.opts.variants),
            "sdk_version": _sdk_version(),
            "shard": str(self.opts.shard) if self.opts.shard else None,
            "policy": self.opts.policy.to_dict(),
            "probe_preflight": None if self.probes is None else {
                **self.probes.to_dict(), "behavioural_skipped": behavioural_skips(results)},
            "target_down": self.outage_dict(),
            "interrupted": self.interrupted,
            "max_time_s": self.opts.max_time_s,
            "time_limited": len(self.scheduler.time_limited),  # cases skipped because --max-time had passed
            "token_budget": self.opts.token_budget,
            "output_cap_floor": self.opts.output_cap_floor,
            "cap_cut_skipped": cap_cut_skips(results),  # expectations skipped: the suite's own cap cut the answer
            "tokens_billed": self.scheduler.tokens_billed,  # usage total of the recorded responses
            "tokens_charged": self.scheduler.output_charged,  # output tokens charged against --token-budget
            "budget_limited": len(self.scheduler.budget_limited),  # cases skipped because --token-budget was spent
            # the file name: the recording lies beside the results file (record.har.recording_path)
            "recording": None if self.recording is None else Path(self.recording.path).name,
        }

    def outage_dict(self) -> dict[str, Any] | None:
        """The results JSON ``run.target_down``: null unless the target stopped answering mid-run."""
        watch = self.scheduler.watch
        return None if watch.down is None else watch.down.to_dict(len(watch.not_sent))

    def close(self) -> None:
        if self.recording is not None:
            self.recording.discard()  # finish_recording closed it already, unless the run broke off before
        if self.interrupted:
            self.recorder.abort()  # the cases in flight end now (their threads would hold the exit up otherwise)
        self.scheduler.shutdown(wait=not self.interrupted)
        self.recorder.close()
        if self.server is not None:
            self.server.stop()
