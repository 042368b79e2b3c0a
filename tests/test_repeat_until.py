"""The ``repeat_until`` step option: loading, validation and the engine's polling."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from conformance.cases import CaseFormatError, RepeatUntil, load_cases
from conformance.record.exchange import Exchange, RecordedRequest
from conformance.run.engine import record_case

CASE = """\
cases:
  - id: state.poll
    title: poll
    group: state
    spec:
      - openai-openapi.yaml#/paths/~1responses~1{response_id}/get
    capabilities: [background]
    steps:
      - name: create
        request:
          body: {model: !model , background: true, input: x}
        capture: {resp_id: id}
        expect: [{status: 200}]
      - name: poll
        request:
          method: GET
          path: !join ["/responses/", !var resp_id]
        repeat_until: %s
        expect: [{status: 200}, {response_status: completed}]
"""


def load(tmp_path: Path, until: str) -> Any:
    path = tmp_path / "poll.yaml"
    path.write_text(textwrap.dedent(CASE % until))
    return load_cases(path)


def test_loads_with_defaults(tmp_path: Path) -> None:
    (case,) = load(tmp_path, "{path: status, in: [completed, failed]}")
    assert case.steps[0].repeat_until is None
    assert case.steps[1].repeat_until == RepeatUntil("status", ("completed", "failed"), 60.0, 0.5)


@pytest.mark.parametrize(("until", "message"), [
    ("{path: status}", "in"),
    ("{path: status, in: []}", "in"),
    ("{path: 'output[', in: [x]}", "bad repeat_until path"),
    ("{path: status, in: [x], timeout_s: 0}", "timeout_s"),
    ("{path: status, in: [x], every: 1}", "every"),
    ("{path: !var resp_id, in: [x]}", "not allowed"),
])
def test_rejects_bad_options(tmp_path: Path, until: str, message: str) -> None:
    with pytest.raises(CaseFormatError, match=message):
        load(tmp_path, until)


def test_satisfied_compares_json_values() -> None:
    until = RepeatUntil("status", ("completed", True))
    assert until.satisfied({"status": "completed"})
    assert not until.satisfied({"status": "queued"}) and not until.satisfied(None) and not until.satisfied({})
    assert not RepeatUntil("done", (1,)).satisfied({"done": True})


class FakeRecorder:
    """Answers a create, then GETs whose status walks through ``statuses``."""

    def __init__(self, statuses: list[str], error_at: int | None = None) -> None:
        self.statuses = statuses
        self.error_at = error_at
        self.gets = 0
        self.target = type("T", (), {"model": "m"})()

    def record(self, step: str, method: str, path: str, body: Any = None, **_: Any) -> Exchange:
        ex = Exchange(step, RecordedRequest(method, "http://x" + path, path, body=body), status=200)
        if method == "POST":
            ex.body = json.dumps({"id": "resp_1", "status": "queued"}).encode()
            return ex
        if self.error_at is not None and self.gets == self.error_at:
            ex.status, ex.error_kind, ex.error = 503, "server_error", "down"
        status = self.statuses[min(self.gets, len(self.statuses) - 1)]
        self.gets += 1
        ex.body = json.dumps({"id": "resp_1", "status": status}).encode()
        return ex


def test_engine_polls_until_the_condition_and_keeps_only_the_last(tmp_path: Path) -> None:
    (case,) = load(tmp_path, "{path: status, in: [completed], interval_s: 0.01}")
    rec = FakeRecorder(["queued", "in_progress", "in_progress", "completed", "never"])
    recording = record_case(case, rec, env={})  # type: ignore[arg-type]
    assert rec.gets == 4
    assert [e.step for e in recording.exchanges] == ["create", "poll"]
    assert json.loads(recording.exchanges[-1].body)["status"] == "completed"


def test_engine_gives_up_at_the_timeout(tmp_path: Path) -> None:
    (case,) = load(tmp_path, "{path: status, in: [completed], interval_s: 0.02, timeout_s: 0.1}")
    rec = FakeRecorder(["queued"])
    recording = record_case(case, rec, env={})  # type: ignore[arg-type]
    assert 2 <= rec.gets <= 7
    assert json.loads(recording.exchanges[-1].body)["status"] == "queued"


def test_engine_stops_polling_on_an_inconclusive_answer(tmp_path: Path) -> None:
    (case,) = load(tmp_path, "{path: status, in: [completed], interval_s: 0.01}")
    rec = FakeRecorder(["queued", "queued", "completed"], error_at=1)
    recording = record_case(case, rec, env={})  # type: ignore[arg-type]
    assert rec.gets == 2 and recording.exchanges[-1].inconclusive
