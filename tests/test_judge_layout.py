"""The judging side's floor plan: one registry for both kinds of rule, each with its proof; small modules that
share only public helpers; the profile passed explicitly; recording that never imports judging."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.cases import ASSERTIONS, GROUPS, load_all
from conformance.judge.catalog import RULES
from conformance.judge.checks import REGISTRY, CheckContext, run_checks
from conformance.judge.expect import ExpectContext, evaluate
from conformance.judge.registry import AUTOMATIC, EXPECT, Rule, register
from conformance.record.exchange import Exchange, RecordedRequest
from conformance.reference import DEVIATIONS
from conformance.report._matrix_areas import AREAS, GROUP_AREAS
from conformance.suite import CASES_DIR

PACKAGE = Path(__file__).resolve().parent.parent / "conformance"


def _imports(path: Path) -> list[ast.ImportFrom]:
    return [node for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(node, ast.ImportFrom)]


def _target(path: Path, node: ast.ImportFrom) -> str:
    """The dotted module an ``ImportFrom`` in ``path`` names (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    base = parts[: len(parts) - node.level]
    return ".".join(base + ([node.module] if node.module else []))


def test_one_registry_holds_both_kinds_with_the_views_over_it() -> None:
    assert set(REGISTRY.values()) == {r for r in RULES.values() if r.kind == AUTOMATIC}
    assert set(ASSERTIONS.values()) == {r for r in RULES.values() if r.kind == EXPECT}
    assert all(f"expect.{keyword}" == rule.name for keyword, rule in ASSERTIONS.items())
    assert all(isinstance(r, Rule) and r.doc and r.spec_ref.startswith("openai-openapi.yaml#/") for r in RULES.values())
    with pytest.raises(TypeError):
        REGISTRY["x"] = REGISTRY["response.schema"]  # type: ignore[index]  # the views are read-only


def test_a_rule_name_is_registered_once_and_a_proof_names_deviation_and_case() -> None:
    existing = RULES["expect.status"]
    with pytest.raises(ValueError, match="duplicate assertion name 'status'"):
        register(existing)
    with pytest.raises(ValueError, match="proof must be"):
        register(Rule("expect.bad_proof", EXPECT, existing.func, existing.spec_ref, "documented", "x", ("", "")))
    assert "expect.bad_proof" not in RULES


def test_every_rule_proves_itself_with_a_deviation_and_case_that_exist() -> None:
    """The descriptor names the reference-server deviation that makes it fail (tests/test_deviations.py runs each);
    reading the reference's names is fine for a test, the reference itself never imports the checker."""
    cases = {c.id for c in load_all(CASES_DIR)}
    bad = [(r.name, r.proof) for r in RULES.values() if r.proof is None or r.deviation not in DEVIATIONS
           or r.proof[1] not in cases]
    assert not bad


def test_list_checks_lists_both_kinds_in_the_check_format() -> None:
    out = subprocess.run([sys.executable, "-m", "conformance", "list-checks"], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert len(out) == len(RULES)
    by_name = {line.split()[0]: line for line in out}
    schema = RULES["response.schema"]
    assert by_name["response.schema"] == f"{'response.schema':<40} {'error':<8} {schema.description}  [{schema.spec_ref}]"
    assert by_name["expect.status"].startswith(f"{'expect.status':<40} {'error':<8} HTTP status is one of")
    assert [line.split()[0] for line in out] == sorted(RULES)


def _response(body: bytes) -> Exchange:
    request = RecordedRequest("POST", "http://x/v1/responses", "/responses")
    return Exchange("s", request, 400, [("content-type", "application/json")], body)


def test_the_profile_reaches_an_assertion_explicitly() -> None:
    """No hidden state: the profile is an argument of evaluate() and travels in the ExpectContext; judged under
    two profiles, interleaved, each keeps its own (an openai envelope problem names the spec's rule, another
    profile's none)."""
    ex = _response(b'{"error": {"message": "m", "type": "t", "param": null}}')
    runs = [evaluate({"error_envelope": None}, ex, {}, profile=p) for p in ("openai", "openresponses", "openai")]
    assert [r.findings[0].rule for r in runs] == ["Error:required:code", "", "Error:required:code"]
    direct = list(ASSERTIONS["error_envelope"].func(None, ex, ExpectContext("openai")))
    assert [f.rule for f in direct] == ["Error:required:code"]
    source = "\n".join(p.read_text(encoding="utf-8") for p in (PACKAGE / "judge").rglob("*.py"))
    assert "ContextVar" not in source


def test_run_checks_keeps_its_signature() -> None:
    results = list(run_checks(_response(b'{"error": {"message": "m", "type": "t", "param": null, "code": null}}'),
                              CheckContext(endpoint="create")))
    assert results and all(r.name in REGISTRY for r in results)


def test_judging_modules_share_no_private_helper() -> None:
    """A module of conformance/judge imports public names only from its siblings (a private module is fine:
    ``_registry``, ``_util``, ``_json``; a private *helper* from another module is not)."""
    bad = []
    for path in sorted((PACKAGE / "judge").rglob("*.py")):
        for node in _imports(path):
            target = _target(path, node)
            if not target.startswith("conformance"):
                continue
            base = PACKAGE.parent.joinpath(*target.split("."))
            for alias in node.names:
                is_module = (base / f"{alias.name}.py").is_file() or (base / alias.name).is_dir()
                if alias.name.startswith("_") and not is_module:
                    bad.append(f"{path.relative_to(PACKAGE)}: {alias.name} from {target}")
    assert not bad


def test_recording_never_imports_judging_and_the_rules_read_only_exchanges_of_it() -> None:
    bad = []
    for path in sorted((PACKAGE / "record").rglob("*.py")):
        bad += [f"{path.name}: {_target(path, n)}" for n in _imports(path) if _target(path, n).startswith("conformance.judge")]
    rule_modules = [PACKAGE / "judge" / "registry.py", *(PACKAGE / "judge" / "expect").glob("*.py"),
                    *(PACKAGE / "judge" / "checks").glob("*.py")]
    for path in rule_modules:
        bad += [f"{path.name}: {_target(path, n)}" for n in _imports(path)
                if _target(path, n).startswith("conformance.record") and _target(path, n) != "conformance.record.exchange"]
    assert not bad


def test_each_case_group_has_an_area_and_no_area_key_is_dead() -> None:
    from conformance.fuzz.runner import GROUP as FUZZ_GROUP

    assert set(GROUP_AREAS) == set(GROUPS) | {FUZZ_GROUP}
    # and every area of the matrix is reached by some group (an unreachable area is a dead column)
    assert {area for area, _ in AREAS} == set(GROUP_AREAS.values())
