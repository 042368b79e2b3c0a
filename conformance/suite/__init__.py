"""The suite's data, shipped inside the package: the YAML cases and the generated JSON Schemas.

Both live here (not beside the package) so a wheel install runs exactly what an editable checkout runs.
"""

from __future__ import annotations

from pathlib import Path

SUITE_DIR = Path(__file__).resolve().parent
#: Built-in YAML cases (``*.yaml``), one feature group per file.
CASES_DIR = SUITE_DIR / "cases"
#: Generated JSON Schemas, one folder per profile (``openai``, ``openresponses``).
SCHEMAS_DIR = SUITE_DIR / "schemas"
