"""The pages in a real browser (headless Chromium): cells render, evidence opens, hostile text stays text.

Chromium is driven from the command line (``--dump-dom`` after a virtual-time budget), so no
new Python dependency is needed. The matrix opens a cell's evidence and applies filters from
the URL fragment, which makes "evidence opens" visible in the dumped DOM. Payloads would set
``data-pwned`` on ``<html>`` if they ever ran; the dumped DOM proves they did not.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests._helpers import send_json, serve_handler
from tests.test_matrix import XSS_BREAKOUT, XSS_IMG, XSS_SCRIPT, four_runs, with_hostile_payloads, write_runs

PWNED = re.compile(r"<html[^>]*data-pwned")
INJECTED = re.compile(r"<img[^>]*onerror|<script>document\.documentElement")


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    if found is None:
        message = ("headless Chromium not found: install it with `apt-get install -y chromium` "
                   "(scripts/test does this when run as root)")
        if os.environ.get("CI"):
            pytest.fail(message + " - the browser test must not be skipped in CI")
        pytest.skip(message)
    return found


def dump_dom(chromium: str, url: str, profile: Path) -> str:
    proc = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--dump-dom", url],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0 and "<html" in proc.stdout, proc.stderr[-2000:]
    return proc.stdout


@pytest.fixture(scope="module")
def hostile_matrix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from conformance.report.matrix import write_matrix

    tmp = tmp_path_factory.mktemp("browser-matrix")
    docs = four_runs()
    docs[2] = with_hostile_payloads(docs[2])
    out = tmp / "matrix.html"
    write_matrix(write_runs(tmp, docs), out)
    return out


def test_matrix_renders_cells_and_opens_evidence(chromium: str, hostile_matrix: Path, tmp_path: Path) -> None:
    dom = dump_dom(chromium, hostile_matrix.as_uri() + "#cell=2:errors.unknown_model", tmp_path / "profile")
    assert 'data-ready="1"' in dom, "the page script did not run"
    assert not PWNED.search(dom), "a server-returned payload was executed"
    # cells: the reference columns pass, the deviated ones fail where deviated
    assert re.search(r'<td class="cell o-pass[^"]*" data-cell="0:errors.unknown_model"', dom)
    assert re.search(r'<td class="cell o-fail[^"]*" data-cell="2:errors.unknown_model"', dom)
    assert re.search(r'<td class="cell o-fail[^"]*" data-cell="3:streaming.text"', dom)
    # the evidence panel is open for the requested cell and shows checks, spec, curl and the body
    panel = dom.split('<aside id="evidence"', 1)[1].split("</aside>", 1)[0]
    assert 'data-cell="2:errors.unknown_model"' in panel.split(">", 1)[0] and "hidden" not in panel.split(">", 1)[0]
    assert "expect.status" in panel and "curl " in panel and "Spec reference" in panel
    # hostile text is shown as text
    assert "&lt;script&gt;document.documentElement.setAttribute('data-pwned','script')&lt;/script&gt;" in panel
    assert "&lt;img src=x onerror=" in panel
    assert "&lt;/script&gt;&lt;script&gt;" in panel
    assert not INJECTED.search(dom)


def test_matrix_transcript_and_filters_from_the_fragment(chromium: str, hostile_matrix: Path, tmp_path: Path) -> None:
    dom = dump_dom(chromium, hostile_matrix.as_uri() + "#area=errors&outcome=fail&cell=2:streaming.text", tmp_path / "p")
    assert 'data-ready="1"' in dom and not PWNED.search(dom)
    panel = dom.split('<aside id="evidence"', 1)[1].split("</aside>", 1)[0]
    assert "event transcript" in panel and "response.output_text.delta" in panel
    assert "&lt;img src=x onerror=" in panel and not INJECTED.search(dom)
    rows = re.findall(r"<tr data-row=\"([^\"]+)\"([^>]*)>", dom)
    visible = [rid for rid, attrs in rows if "hidden" not in attrs]
    assert "errors.unknown_model" in visible
    assert all(rid.startswith("errors.") or "error" in rid for rid in visible), visible
    assert "parameters.metadata_echo" not in visible and "basic.text" not in visible
    assert re.search(r'<tbody data-area="parameters" hidden', dom)  # a whole area filtered out by the fragment
    assert re.search(r'<tbody data-area="errors">', dom)


def test_matrix_screenshot(chromium: str, hostile_matrix: Path, tmp_path: Path) -> None:
    shot = tmp_path / "m.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'p'}",
                    "--virtual-time-budget=5000", "--hide-scrollbars", "--window-size=1400,900", f"--screenshot={shot}",
                    hostile_matrix.as_uri()], capture_output=True, timeout=120, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


# ---------------------------------------------------------------- the per-run HTML report (report/html.py)

HOSTILE_CASES = """\
cases:
  - id: hostile.output_text
    title: A Response whose output text is markup
    group: basic
    spec: [openai-openapi.yaml#/components/schemas/Response]
    capabilities: [core]
    steps:
      - name: create
        request:
          body:
            model: !model
            input: Reply with exactly the token PONG.
        expect:
          - status: 200
          - output_text: {token: PONG}
  - id: hostile.error_message
    title: An error whose message is markup
    group: errors
    spec: [openai-openapi.yaml#/components/schemas/ErrorResponse]
    capabilities: [core]
    steps:
      - name: retrieve
        request:
          method: GET
          path: /responses/resp_x
        expect:
          - status: 200
"""


class _Hostile(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        text = XSS_SCRIPT + XSS_IMG + XSS_BREAKOUT
        send_json(self, 200, {"id": "resp_1", "object": "response", "created_at": 1, "status": "completed", "model": "m",
                              "output": [{"id": "msg_1", "type": "message", "role": "assistant", "status": "completed",
                                          "content": [{"type": "output_text", "text": text, "annotations": []}]}]})

    def do_GET(self) -> None:  # noqa: N802
        send_json(self, 404, {"error": {"message": XSS_IMG + XSS_SCRIPT, "type": "invalid_request_error", "param": None, "code": None}})

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def hostile_base_url() -> Iterator[str]:
    with serve_handler(_Hostile) as url:
        yield url


def test_run_html_report_shows_verdicts_findings_and_evidence_with_server_text_as_text(
        chromium: str, hostile_base_url: str, tmp_path: Path) -> None:
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "hostile.yaml").write_text(HOSTILE_CASES)
    proc = subprocess.run([sys.executable, "-m", "conformance", "run", "--base-url", hostile_base_url, "--model", "m",
                           "--provider", "hostile", "--cases", str(cases), "--no-builtin-cases", "--reports", str(tmp_path / "reports")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    report = tmp_path / "reports" / "hostile__m.html"
    assert "<script" not in report.read_text(), "the per-run page runs no script at all"
    dom = dump_dom(chromium, report.as_uri(), tmp_path / "profile")
    assert not PWNED.search(dom), "a server-returned payload was executed in the HTML report"
    assert not INJECTED.search(dom), "server-returned markup became elements"
    # one row per case with its verdict, area and group
    rows = dict(re.findall(r'<tr id="case-([^"]+)" class="case" data-outcome="([a-z]+)"', dom))
    assert rows == {"hostile.output_text": "fail", "hostile.error_message": "fail"}, rows
    for heading in ("Case", "Area", "Group", "Verdict", "Baseline"):
        assert f"<th>{heading}</th>" in dom
    # the distinct deviations lead, each with its basis and a link to the first case that shows it
    findings = dom.split('<table class="findings">', 1)[1].split("</table>", 1)[0]
    assert re.search(r'<tr data-severity="fail"><td class="s-fail">fail</td><td>(schema|documented|error-class|'
                     r'event-contract)</td>', findings), findings[:2000]
    assert 'href="#case-hostile.' in findings
    # the evidence under each case: checks with basis and spec reference, the curl line, the body as text
    assert dom.count('class="conformance-evidence"') == 2, "evidence did not render"
    evidence = dom.split('id="case-hostile.error_message"', 1)[1]
    assert "expect.status" in evidence and "basis: " in evidence
    assert "openai-openapi.yaml#/" in evidence and "curl -sS" in evidence
    assert "&lt;script&gt;document.documentElement.setAttribute('data-pwned','script')&lt;/script&gt;" in dom
    assert "&lt;img src=x onerror=" in dom
