"""Every run option, declared once: the table builds the ``run`` parser, pytest's ``addoption`` and the engine's
:class:`~conformance.run.session.RunOptions`.

Why one table: the command and the pytest plugin used to declare the same seventeen options twice, with help
texts and validation that drifted apart. Each :class:`Option` says where it exists (``run``, ``pytest`` or
both), its flag in each front end (under pytest always ``--conformance-<name>``; a few differ further: pytest has
its own ``--strict``, so ours is ``--conformance-baseline-strict``, and its own ``-k``), its type,
default and help, and how its raw value becomes a checked one. A bad value is one :class:`OptionError` line
naming the flag; each front end turns it into its own usage error (exit 2 for ``run``, 4 for pytest).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..suite import CASES_DIR

__all__ = ["OPTIONS", "Option", "OptionError", "add_to_argparse", "add_to_pytest", "run_options"]

PROFILES = ("openai", "openresponses")


class OptionError(ValueError):
    """A bad option value: one line that names the flag."""


@dataclass(frozen=True)
class Option:
    """One option of a run. ``dest`` is its key in the values mapping :func:`run_options` reads."""

    dest: str
    flag: str
    help: str
    kind: str = "str"  # str | int | float | path | flag | append
    default: Any = None
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    scope: str = "both"  # both | run | pytest
    #: the flag in pytest where it differs from ``flag`` (None: ``flag`` with a ``--conformance-`` prefix)
    pytest_flag: str | None = None
    #: more flags of the ``run`` parser (``-q`` beside ``--quiet``)
    aliases: tuple[str, ...] = ()
    #: a providers file sets it for each target (``run --config`` refuses the flag rather than ignore it); its
    #: parsers default to None, so that a value given is told from none, and :func:`run_options` fills ``default``
    per_target: bool = False

    @property
    def pytest_name(self) -> str:
        """Its flag under pytest: always ``--conformance-...``. The plugin is installed as an entry point, so it
        loads in every pytest session of the environment; a bare ``--base-url`` or ``--profile`` would collide
        with pytest-base-url (pytest-playwright, pytest-selenium) or pytest-profiling and break those sessions."""
        if self.pytest_flag:
            return self.pytest_flag
        return self.flag if self.flag.startswith("--conformance-") else "--conformance-" + self.flag.removeprefix("--")

    @property
    def pytest_dest(self) -> str:
        """Its dest in pytest's namespace: prefixed, so no other plugin's option can collide with it."""
        return f"conformance_{self.dest}"

    def argparse_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"dest": self.dest, "help": self.help}
        if self.kind == "flag":
            return {**kwargs, "action": "store_true", "default": False}
        if self.kind == "append":
            kwargs.update(action="append", default=[])
        else:
            kwargs["default"] = None if self.per_target else self.default
            kind = {"int": int, "float": float, "path": Path}.get(self.kind)
            if kind is not None:
                kwargs["type"] = kind
        if self.metavar:
            kwargs["metavar"] = self.metavar
        if self.choices:
            kwargs["choices"] = list(self.choices)
        return kwargs



OPTIONS: tuple[Option, ...] = (
    Option("base_url", "--base-url", "Responses API base URL, e.g. https://api.openai.com/v1 (default: embedded "
           "reference server)"),
    Option("model", "--model", "model id to test (default with the embedded server: reference-1)"),
    Option("api_key_env", "--api-key-env", "environment variable that holds the API key", metavar="VAR"),
    Option("headers", "--header", "extra request header (repeatable)", kind="append", metavar="'Name: value'"),
    Option("provider", "--provider", "provider name used in reports (default: host of --base-url, or 'reference')"),
    Option("cases", "--cases", "a folder of your own YAML cases, run with the built-in ones (repeatable)",
           kind="append", metavar="DIR", scope="run"),
    Option("no_builtin_cases", "--no-builtin-cases", "run only the --cases folders, not the cases shipped with the "
           "package", kind="flag", scope="run"),
    Option("cases", "--conformance-cases", "every *.yaml/*.yml below DIR is a case file, whatever DIR is called "
           f"(repeatable; the built-in ones below {CASES_DIR.name}/ always are)", kind="append", metavar="DIR",
           scope="pytest"),
    Option("reports", "--reports", "output directory (default ./reports)", kind="path", default=Path("reports"),
           scope="run"),
    Option("json", "--json", "results JSON path (default reports/<provider>__<model>.json)", kind="path",
           pytest_flag="--conformance-json"),
    Option("html", "--conformance-html", "also write the run's HTML report here (what `run` writes as "
           "reports/<provider>__<model>.html)", kind="path", metavar="PATH", scope="pytest"),
    Option("profile", "--profile", "spec the cases are judged against (default openai)", default="openai", choices=PROFILES,
           per_target=True),
    Option("concurrency", "--concurrency", "cases recorded at once (default 4)", kind="int", default=4, per_target=True),
    Option("deviations", "--deviate", "embedded server: named deviation", kind="append", metavar="NAME"),
    Option("variants", "--variant", "embedded server: benign variant", kind="append", metavar="NAME"),
    Option("skip_capabilities", "--skip-capability", "capability the target declares unavailable (its cases become "
           "skipped)", kind="append", metavar="CAP"),
    Option("keyword", "-k", "only cases matching this pytest -k expression", scope="run"),
    Option("shard", "--shard", "run only shard I of N of the selected cases (round-robin over the sorted case ids; "
           "merge the shards' results with `matrix`)", metavar="I/N"),
    Option("idle_timeout", "--idle-timeout", "seconds without a byte before an exchange counts as stalled (waiting "
           "for the headers included; default 60)", kind="float", default=60.0, per_target=True),
    Option("deadline", "--deadline", "overall seconds allowed per exchange (default 180)", kind="float",
           default=180.0, per_target=True),
    Option("max_time", "--max-time", "for the whole run: cases not started by then are skipped (time limit); "
           "reports are written", kind="float", metavar="SECONDS"),
    Option("token_budget", "--token-budget", "spend at most N output tokens: a case starts only if its worst-case "
           "output fits in what is left after the cases done and in flight, the rest are skipped (budget); reports "
           "are written", metavar="N"),
    Option("output_cap_floor", "--output-cap-floor", "raise every max_output_tokens the suite sets for cost to at "
           "least N (a model that reasons by default spends small caps thinking); caps a case tests are kept",
           metavar="N"),
    Option("quiet", "--quiet", "one line per run instead of one per case", kind="flag", scope="run", aliases=("-q",)),
    Option("config", "--config", "run every provider x model of a providers file (narrow with --provider/--model, "
           "comma-separated)", kind="path", metavar="PROVIDERS.yaml", scope="run"),
    Option("baseline", "--baseline", "baseline YAML of expected non-passing cases, or a directory holding "
           "<provider>/<model>.yaml; the run then fails only on regressions", kind="path", metavar="PATH"),
    Option("baseline_strict", "--strict", "with --baseline: unexpected passes (stale entries) fail too", kind="flag",
           pytest_flag="--conformance-baseline-strict"),
    Option("update_baseline", "--update-baseline", "with --baseline: rewrite it from this run's results",
           kind="flag"),
    Option("no_matrix", "--no-matrix", "with --config: do not write reports/matrix.html", kind="flag", scope="run"),
    Option("assume_probes", "--assume-probes", "skip the probe preflight: judge behavioural expectations (probe "
           "replies, forced tool calls, JSON output) even if the model ignores the probes", kind="flag"),
    Option("spec_strict", "--spec-strict", "fail requirements that api.openai.com itself does not meet (default: a "
           "warning)", kind="flag"),
    Option("strict_behaviour", "--strict-behaviour", "fail what OpenAI does but nothing documents (basis observed; "
           "default: a warning)", kind="flag"),
    Option("spec_as_of", "--spec-as-of", "judge against the spec's requirements of that date (YYYY-MM-DD); later "
           "ones become notes", metavar="DATE"),
    Option("fuzz", "--fuzz", "after the cases, fuzz POST /responses with generated requests (docs/fuzz.md; never "
           "scored)", kind="flag"),
    Option("fuzz_seed", "--fuzz-seed", "reproduce a fuzz run (the seed its results name)", kind="int", metavar="S"),
    Option("fuzz_examples", "--fuzz-examples", "fuzz examples per kind (valid, invalid; default 100)", kind="int", default=100,
           metavar="N"),
    Option("fuzz_only", "--fuzz-only", "fuzz and send no case (implies --fuzz; the results hold only the fuzz "
           "group)", kind="flag", scope="run"),
    Option("fuzz_gate", "--fuzz-gate", "fuzz failures count for the exit code and the baseline (default: reported "
           "only)", kind="flag"),
)


def add_to_argparse(parser: Any) -> None:
    """The ``run`` subcommand's options."""
    for opt in OPTIONS:
        if opt.scope != "pytest":
            parser.add_argument(*opt.aliases, opt.flag, **opt.argparse_kwargs())


def add_to_pytest(group: Any) -> None:
    """The plugin's options (``group`` is pytest's ``parser.getgroup(...)``)."""
    for opt in OPTIONS:
        if opt.scope != "run":
            group.addoption(opt.pytest_name, **{**opt.argparse_kwargs(), "dest": opt.pytest_dest})


def spelled_for_pytest(message: str) -> str:
    """A message written with the ``run`` flags, spelled with pytest's (``--base-url`` -> ``--conformance-base-url``),
    so a usage error under pytest names the flag the user typed."""
    import re

    names = {opt.flag: opt.pytest_name for opt in OPTIONS if opt.scope != "run" and opt.flag != opt.pytest_name}
    if not names:
        return message
    pattern = re.compile(r"(?<![\w-])(" + "|".join(re.escape(f) for f in sorted(names, key=len, reverse=True)) + r")(?![\w-])")
    return pattern.sub(lambda m: names[m.group(1)], message)


def values_from_pytest(getoption: Callable[[str], Any]) -> dict[str, Any]:
    """The values mapping of a pytest run, keyed like the ``run`` namespace."""
    return {opt.dest: getoption(opt.pytest_dest) for opt in OPTIONS if opt.scope != "run"}


# -- validation: raw values -> checked ones -------------------------------------------------------------------------


def seconds(flag: str, raw: float | None) -> float:
    """A duration: a finite number of seconds above zero (``nan``, ``inf``, 0 and negatives are refused)."""
    if raw is None or not math.isfinite(raw) or raw <= 0:
        raise OptionError(f"{flag} {raw}: expected a number of seconds above zero")
    return float(raw)


def _checked(parse: Callable[[str], Any], raw: str | None) -> Any:
    if raw is None:
        return None
    try:
        return parse(raw)
    except ValueError as exc:
        raise OptionError(str(exc)) from None


def per_target_given(values: Mapping[str, Any]) -> list[str]:
    """The flags among ``values`` that a providers file sets for each target (``run --config`` refuses them)."""
    return [opt.flag for opt in OPTIONS if opt.per_target and values.get(opt.dest) is not None]


def run_options(values: Mapping[str, Any], *, baseline_flag: str = "--strict") -> Any:
    """The engine's :class:`RunOptions` from a front end's raw values (``run`` namespace or pytest config).

    Raises :class:`OptionError` (one line naming the flag) on the first bad value."""
    from ..judge.basis import JudgePolicy
    from ..record.http import Limits
    from .cost import parse_output_cap_floor, parse_token_budget
    from .session import RunOptions
    from .shard import parse_shard

    # the per-target options' defaults live in their Option only (their parsers give None when none is given)
    values = {**values, **{opt.dest: opt.default for opt in OPTIONS if opt.per_target and values.get(opt.dest) is None}}
    base_url = values.get("base_url")
    if base_url is not None and not str(base_url).strip():
        raise OptionError("--base-url: empty (an unset variable?); omit the option to test the embedded reference "
                          "server")
    if (values.get("baseline_strict") or values.get("update_baseline")) and not values.get("baseline"):
        raise OptionError(f"{baseline_flag}/--update-baseline: need --baseline PATH")
    concurrency = values["concurrency"]
    if concurrency < 1:
        raise OptionError("--concurrency: must be at least 1")
    limits = replace(Limits(), idle_timeout_s=seconds("--idle-timeout", values["idle_timeout"]),
                     deadline_s=seconds("--deadline", values["deadline"]))
    max_time = None if values.get("max_time") is None else seconds("--max-time", values.get("max_time"))
    try:
        policy = JudgePolicy.from_options(bool(values.get("spec_strict")), bool(values.get("strict_behaviour")),
                                          values.get("spec_as_of"))
    except ValueError as exc:
        raise OptionError(str(exc)) from None
    json_path = values.get("json")
    baseline = values.get("baseline")
    fuzz_examples = values.get("fuzz_examples", 100)
    if fuzz_examples is None or fuzz_examples < 1:
        raise OptionError(f"--fuzz-examples {fuzz_examples}: must be at least 1")
    return RunOptions(
        base_url=base_url, model=values.get("model"), api_key_env=values.get("api_key_env"),
        headers=list(values.get("headers") or []), provider=values.get("provider"),
        profile=values["profile"], concurrency=int(concurrency),
        deviations=list(values.get("deviations") or []), variants=list(values.get("variants") or []),
        skip_capabilities=list(values.get("skip_capabilities") or []),
        json_path=Path(json_path) if json_path else None, limits=limits,
        shard=_checked(parse_shard, values.get("shard") or None), assume_probes=bool(values.get("assume_probes")),
        policy=policy, max_time_s=max_time,
        token_budget=_checked(parse_token_budget, None if values.get("token_budget") is None
                              else str(values.get("token_budget"))),
        output_cap_floor=_checked(parse_output_cap_floor, None if values.get("output_cap_floor") is None
                                  else str(values.get("output_cap_floor"))),
        baseline=Path(baseline) if baseline else None, baseline_strict=bool(values.get("baseline_strict")),
        update_baseline=bool(values.get("update_baseline")),
        fuzz=bool(values.get("fuzz") or values.get("fuzz_only")), fuzz_seed=values.get("fuzz_seed"), fuzz_examples=int(fuzz_examples),
        fuzz_gate=bool(values.get("fuzz_gate")),
    )
