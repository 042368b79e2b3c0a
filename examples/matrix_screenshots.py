"""Regenerate the README's matrix screenshots (docs/img/) from real runs of the reference server.

    .venv/bin/python examples/matrix_screenshots.py

Runs the suite in-process against the reference server and a deviated one (two models each),
builds the matrix, and screenshots it with headless Chromium (``/usr/bin/chromium``).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from conformance.report.matrix import write_matrix  # noqa: E402
from tests.test_matrix import four_runs, write_runs  # noqa: E402


def shoot(url: str, out: Path, profile: Path, size: str = "1400,900") -> None:
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                    "--virtual-time-budget=5000", "--hide-scrollbars", f"--window-size={size}", f"--screenshot={out}", url],
                   check=True, capture_output=True, timeout=120)
    print(f"wrote {out}")


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="matrix-shots-"))
    html = tmp / "matrix.html"
    write_matrix(write_runs(tmp, four_runs()), html)
    img = ROOT / "docs" / "img"
    img.mkdir(parents=True, exist_ok=True)
    shoot(html.as_uri() + "#differs=1", img / "matrix.png", tmp / "p1")
    shoot(html.as_uri() + "#differs=1&cell=2:errors.unknown_model", img / "matrix-evidence.png", tmp / "p2")
    return 0


if __name__ == "__main__":
    sys.exit(main())
