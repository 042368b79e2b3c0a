"""The report files of a run, each a subscriber of the engine's events: the results JSON and JUnit XML.

The JSON is the stable contract (conformance/report/results.py and its schema); JUnit carries the same
verdicts in CI's vocabulary, with the distinct deviations as suite properties and each testcase's deviation
keys as its properties, as pytest's ``--junitxml`` (xunit2) wrote them before the run left pytest.
"""

from __future__ import annotations

import datetime as _dt
import socket
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from .._atomic import write_text_atomically
from ..record._redact import inert
from ..run.events import ERROR, FAILED, SKIPPED, Event, RunFinished, RunStarted
from .failure import format_failure
from .findings import describe, deviation_counts
from .results import write_results

__all__ = ["JUnitReporter", "MatrixInput", "ResultsReporter", "junit_document"]


class ResultsReporter:
    """Writes the results JSON (``event.json_path``) when the run finishes."""

    def handle(self, event: Event) -> None:
        if isinstance(event, RunFinished):
            write_results(event.json_path, event.document)
            event.written.append(event.json_path)


def _xml_text(text: str) -> str:
    """XML 1.0 cannot carry most control characters even escaped: :func:`inert` spells them out."""
    return inert(text)


def junit_document(event: RunFinished, started: str, seconds: float) -> ET.Element:
    """The xunit2 document: one testsuite, its deviations as properties, one testcase per case."""
    counts = {FAILED: 0, ERROR: 0, SKIPPED: 0}
    for counted in event.statuses.values():
        if counted.kind in counts:
            counts[counted.kind] += 1
    suites = ET.Element("testsuites", name="pytest tests")
    suite = ET.SubElement(suites, "testsuite", name="pytest", errors=str(counts[ERROR]),
                          failures=str(counts[FAILED]), skipped=str(counts[SKIPPED]), tests=str(len(event.results)),
                          time=f"{seconds:.3f}", timestamp=started, hostname=socket.gethostname())
    props = ET.SubElement(suite, "properties")
    findings: list[dict[str, Any]] = event.document["findings"]
    dev = deviation_counts(findings)
    ET.SubElement(props, "property", name="deviations",
                  value=f"{dev['fail']} fail, {dev['warning']} warning, {dev['note']} note")
    numbers = {"fail": 0, "warning": 0, "note": 0}
    for f in findings:
        numbers[f["severity"]] += 1
        label = "deviation" if f["severity"] == "fail" else f["severity"]
        value = f"{describe(f)} [{len(f['cases'])} case(s), first {f['first_seen']}; key {f['key']}]"
        ET.SubElement(props, "property", name=f"{label}.{numbers[f['severity']]}", value=_xml_text(value))
    for result in event.results:
        case = result.case
        file = Path(case.file)
        classname = f"{file.parent.name}.{file.name}" if file.parent.name else file.name  # as pytest named it
        tc = ET.SubElement(suite, "testcase", classname=classname, name=case.id, time=f"{result.duration_s:.3f}")
        keys = {f.key: f.severity for c in result.checks for f in c.findings if f.key and f.severity in ("fail", "warning")}
        if keys:  # its distinct deviations
            tprops = ET.SubElement(tc, "properties")
            for key, severity in keys.items():
                ET.SubElement(tprops, "property", name="deviation" if severity == "fail" else "warning",
                              value=_xml_text(key))
        status = event.statuses.get(case.id)
        if status is None:
            continue
        if status.kind == FAILED:
            text = format_failure(result) if result.outcome.value == "fail" else status.message
            ET.SubElement(tc, "failure", message=_xml_text(status.message[:1000])).text = _xml_text(text)
        elif status.kind == ERROR:
            ET.SubElement(tc, "error", message=_xml_text(f"failed on setup: {status.message[:1000]}")).text = \
                _xml_text(status.message)
        elif status.kind == SKIPPED:
            ET.SubElement(tc, "skipped", type="pytest.skip", message=_xml_text(status.message[:1000])).text = \
                _xml_text(f"{case.file}:{case.line}: {status.message}")
    return suites


class JUnitReporter:
    """Writes ``path`` (xunit2, as CI systems read it) when the run finishes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.started = _dt.datetime.now(_dt.timezone.utc).isoformat()
        self.t0 = time.monotonic()

    def handle(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.started = _dt.datetime.now(_dt.timezone.utc).isoformat()
            self.t0 = time.monotonic()
        elif isinstance(event, RunFinished):
            root = junit_document(event, self.started, time.monotonic() - self.t0)
            text = '<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(root, encoding="unicode")
            write_text_atomically(self.path, text)
            event.written.append(self.path)


class MatrixInput:
    """The results files a ``run --config`` merges into its matrix: those this command's runs wrote (never a
    file an earlier command left in the reports folder for a target that did not run this time)."""

    def __init__(self) -> None:
        self.files: list[Path] = []

    def handle(self, event: Event) -> None:
        if isinstance(event, RunFinished) and event.json_path in event.written:
            self.files.append(event.json_path)
