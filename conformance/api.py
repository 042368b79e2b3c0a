"""The public surface of responses-conformance: write your own checks, run the engine, judge saved traffic.

Everything a user may import lives here (``__all__``); every other module is private and may change between
releases, as httpx keeps its internals behind a small public surface. Three uses:

Write a check. A check is a pure function over one recorded exchange; it yields a :class:`Finding` per problem
and names the rule it rests on (``basis``: ``schema``, ``event-contract``, ``error-class``, ``documented`` or
``observed``; only ``observed`` findings stay warnings). Registered checks run on every exchange of every
case, in ``run``, under pytest and in ``judge``::

    from conformance.api import CheckContext, Exchange, Finding, check

    @check("acme.request_id_header", basis="observed", spec_ref="https://platform.openai.com/docs/api-reference",
           applies=lambda ex, ctx: ctx.endpoint == "create" and ex.status == 200)
    def request_id_header(ex: Exchange, ctx: CheckContext):
        if "x-request-id" not in {k.lower() for k in ex.headers}:
            yield Finding("no x-request-id header", "headers.x-request-id")

Run the suite from Python, with the options of ``responses-conformance run`` as keywords (``base_url``,
``model``, ``api_key_env``, ``concurrency``, ``profile``, ``skip_capabilities``, ``max_time``,
``token_budget``...; none given: the embedded reference server)::

    from conformance.api import run
    finished = run(keyword="basic", reports="out")   # out/<provider>__<model>.json, .html, .junit.xml, .har.gz
    assert not finished.failed

Subscribe to the engine's events (:class:`RunStarted`, :class:`RunNotice`, :class:`CaseFinished`, :class:`RunFinished`) with any
object that has ``handle(event)``; the console, JSON, JUnit and HTML reports are such subscribers.

Judge saved traffic (a capture directory of bodies and their requests) with the same checks:
:func:`judge_capture_dir`. Re-judge a recorded run (the ``.har.gz`` every run writes beside its results) with
the current checks, sending nothing, as ``responses-conformance judge --recording`` does: :func:`rejudge`::

    from conformance.api import rejudge
    finished = rejudge("out/reference__reference-1.har.gz", reports="rejudged")
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ._verdict import CheckResult, Finding, Outcome
from .cases import Case, CaseFormatError, load_all, load_cases
from .judge.checks import CheckContext, check
from .judge.offline import judge_capture_dir
from .record.exchange import Exchange, RecordedRequest, SSEEvent
from .record.har import RecordingError
from .run.engine import CaseResult
from .run.events import CaseFinished, RunFinished, RunNotice, RunStarted, Subscriber
from .run.options import OptionError
from .suite import CASES_DIR

__all__ = [
    "CASES_DIR",
    "Case",
    "CaseFinished",
    "CaseFormatError",
    "CaseResult",
    "CheckContext",
    "CheckResult",
    "Exchange",
    "Finding",
    "OptionError",
    "Outcome",
    "RecordedRequest",
    "RecordingError",
    "RunFinished",
    "RunNotice",
    "RunStarted",
    "SSEEvent",
    "Subscriber",
    "TargetError",
    "check",
    "judge_capture_dir",
    "load_all",
    "load_cases",
    "rejudge",
    "run",
]


class TargetError(Exception):
    """The target cannot be tested at all (unreachable, refuses the key, redirects every request): one line."""


def run(*, cases: Iterable[Case] | None = None, keyword: str | None = None, reports: str | Path | None = None,
        subscribers: Sequence[Subscriber] = (), **options: Any) -> RunFinished:
    """One run, as ``responses-conformance run`` does it, without the console.

    ``cases``: the cases to choose from (default: the built-in suite); ``keyword``: a ``-k`` expression;
    ``reports``: a folder for the results JSON, HTML page, JUnit XML and the recording (``.har.gz``) (default:
    nothing written);
    ``subscribers``: more event subscribers; ``options``: the ``run`` options by their long names with
    underscores (``base_url="https://api.openai.com/v1"``, ``model=...``, ``api_key_env="OPENAI_API_KEY"``).
    A bad option raises :class:`OptionError` (one line naming the flag), a target that cannot be tested at all
    :class:`TargetError`, a selection of no case ``ValueError``.
    Ctrl-C still finishes the reports of what ran, then re-raises."""
    from .record.http import ConfigError
    from .report.outputs import run_reporters
    from .run.options import run_options
    from .run.runner import Engine
    from .run.select import select
    from .run.session import ConformanceSession, report_stem

    opts = run_options(options)
    pool = list(cases) if cases is not None else load_all(CASES_DIR)
    selected = select(pool, keyword)
    if not selected:
        raise ValueError(f"-k {keyword!r}: selects no case (nothing was tested)")
    try:
        session = ConformanceSession(opts)
    except ConfigError as exc:
        raise OptionError(str(exc)) from None
    reporters: list[Subscriber] = []
    json_path = opts.json_path
    if reports is not None:
        folder = Path(reports)
        stem = report_stem(session.target.provider, session.target.model, opts.shard)
        json_path = json_path or folder / f"{stem}.json"
        reporters = run_reporters(folder / f"{stem}.html", folder / f"{stem}.junit.xml", console=False)
    elif json_path is not None:  # json= alone: the results file and its recording, nothing else
        reporters = run_reporters(None, None, console=False)
    engine = Engine(session, [*reporters, *subscribers])
    problem = session.preflight()
    if problem:
        session.close()
        raise TargetError(problem)
    try:
        engine.load_baseline()
    except Exception:
        session.close()
        raise
    return engine.run(selected, known_ids=[case.id for case in pool], json_path=json_path)


def rejudge(recording: str | Path, *, reports: str | Path | None = None, cases_dir: str | Path | None = None,
            subscribers: Sequence[Subscriber] = ()) -> RunFinished:
    """Re-judge a recorded run with the current checks and cases, sending nothing; the verdicts a live run
    would give today, under the profile the run was recorded with.

    ``recording``: the ``<results>.har.gz`` a run wrote; ``reports``: a folder for the results JSON, HTML page
    and JUnit XML under the live run's names (so the matrix column is the same; default: nothing written);
    ``cases_dir``: the one folder of cases to judge by (default: the folders the recording names, the built-in
    cases and each ``--cases`` of the run, that still exist; else the built-in cases); ``subscribers``: more event subscribers, handed the :class:`RunFinished`. An unreadable
    recording raises :class:`RecordingError` (one line naming the file and field)."""
    from .report.outputs import report_rejudged, run_reporters
    from .run.rejudge import notices
    from .run.rejudge import rejudge as rejudge_recording
    from .run.session import recorded_stem

    done = rejudge_recording(Path(recording), cases_dir=Path(cases_dir) if cases_dir is not None else None)
    reporters: list[Subscriber] = []
    json_path = Path("rejudged.json")  # named in the event only; nothing is written without ``reports``
    if reports is not None:
        folder = Path(reports)
        stem = recorded_stem(done.meta)
        json_path = folder / f"{stem}.json"
        reporters = run_reporters(folder / f"{stem}.html", folder / f"{stem}.junit.xml", console=False)
    return report_rejudged(done.results, done.meta, json_path, [*reporters, *subscribers], notices(done.meta))
