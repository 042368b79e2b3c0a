"""The reference server is a test double written from the spec, independently of the checker.

If it imported the checks, schemas, case format, recorder or engine, a misreading of the spec on one side
would be copied to the other and no test could see it. This test starts the server in a fresh interpreter
and lists every module of ours that got loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys

#: What the server may load from our package: itself, the package root, and nothing of the checker.
ALLOWED_PREFIXES = ("conformance.reference", "conformance.__init__")

PROBE = """
import json, sys
from conformance.reference import ReferenceServer
with ReferenceServer() as server:
    import httpx
    answer = httpx.post(server.base_url + "/responses", json={"model": "reference-1", "input": "hi"}, timeout=30)
    assert answer.status_code == 200, answer.text
print(json.dumps(sorted(m for m in sys.modules if m == "conformance" or m.startswith("conformance."))))
"""


def test_the_reference_server_loads_nothing_of_the_checker() -> None:
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "conformance.reference" in loaded  # the probe really ran the server
    ours = [m for m in loaded if m != "conformance" and not m.startswith(ALLOWED_PREFIXES)]
    assert ours == [], f"the reference server imported checker modules: {ours}"
