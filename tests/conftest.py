"""Test tiers: every test gets exactly one of the markers ``unit``, ``slow``, ``e2e``, ``peers``, ``browser``.

Nobody marks tests by hand (a forgotten mark would silently move a slow test into the inner loop): a
test is ``peers`` or ``browser`` by its module, ``e2e`` when anything it runs - its own code, the
module's helper functions it calls, its fixtures, transitively - touches a process, a socket or a
server (``subprocess``, ``socket``, the reference server, the hostile servers, the engine, a whole run),
``slow`` when it is in-process but listed in :data:`SLOW` (measured), and ``unit`` otherwise. A test may
still carry an explicit tier marker; it then keeps that one. tests/test_tiers.py checks the rules.

    scripts/test --fast        # the unit tier (-m unit): the inner loop (README, "Tests")
    scripts/test               # everything, as .ci/run does
"""

from __future__ import annotations

import inspect
import socket
import subprocess
import types
from collections.abc import Iterable
from typing import Any

import pytest

TIERS = ("unit", "slow", "e2e", "peers", "browser")
BY_MODULE = {"test_peers": "peers", "test_browser": "browser", "test_wheel": "e2e"}

#: In-process tests that cost about a second or more each (schema builds from the whole spec, property tests
#: with many examples, scans of every case or every genuine capture): kept out of the inner loop so that
#: ``scripts/test --fast`` stays under a minute. Measured with ``scripts/test --fast --durations=40``; add a
#: test here (module::function, every parametrization) when it shows up there at a second or more.
SLOW = {
    "test_cases_loader.py::test_every_shipped_file_loads",
    "test_cases_loader.py::test_shipped_cases_never_hard_code_a_model",
    "test_cases_loader.py::test_spec_refs_resolve_in_the_openapi_document",
    "test_checks_robust.py::test_lifecycle_survives_arbitrary_event_sequences",
    "test_checks_robust.py::test_response_checks_survive_any_value",
    "test_checks_robust.py::test_stream_checks_survive_any_value",
    "test_cost.py::test_every_suite_case_bounds_its_output_or_says_why_not",
    "test_cost.py::test_the_readme_states_the_default_suites_bound",
    "test_coverage_cli.py::test_build_report_is_deterministic",
    "test_coverage_cli.py::test_command_on_committed_cases",
    "test_coverage_cli.py::test_usage_errors_exit_2",
    "test_coverage_readme.py::test_committed_readme_section_is_current",
    "test_coverage_readme.py::test_update_inserts_then_is_idempotent",
    "test_judge.py::test_a_starting_after_replay_is_judged_with_the_stream_it_resumes",
    "test_judge.py::test_real_openai_dir_is_judged_with_its_manifest",
    "test_peers_upstream.py::test_model_behaviour_declaration_skips_behavioural_cases",
    "test_real_openai_captures.py::test_every_capture_is_read",
    "test_real_traffic_rules.py::test_no_echo_finding_on_any_genuine_capture",
    "test_requirement_dates.py::test_cache_write_tokens_is_required_since_the_july_2026_snapshot",
    "test_requirement_dates.py::test_sequence_number_date_and_the_snapshot_gap",
    "test_schemas.py::test_build_is_deterministic",
    "test_schemas.py::test_committed_schemas_equal_fresh_build",
    "test_schemas.py::test_components_are_valid_2020_12_without_openapi_isms",
    "test_schemas.py::test_every_inventory_event_has_a_schema",
    "test_sdk.py::test_diagnose_tells_a_decoder_quirk_from_a_broken_stream",
    "test_sse.py::test_any_chunking_equals_one_piece_and_reference",
    "test_sse.py::test_intended_events_are_recovered",
    "test_sse.py::test_large_stream_in_one_piece",
}


def _heavy_objects() -> list[Any]:
    """What makes a test end-to-end when it is reachable from the test (imported here: a move breaks loudly)."""
    from conformance.reference import ReferenceServer
    from conformance.run.runner import Engine
    from conformance.run.session import ConformanceSession

    return [subprocess, socket, ReferenceServer, ConformanceSession, Engine]


#: Names that are heavy wherever they come from (helpers imported from tests/_hostile.py, tests/_dying.py,
#: tests/_helpers.py).
_HEAVY_NAMES = {"hostile_server", "serve_handler", "subprocess", "Popen", "ReferenceServer", "ConformanceSession",
                "Engine", "run_preflight", "record_case"}


def _codes(code: types.CodeType) -> Iterable[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _codes(const)


def _is_heavy(func: Any, heavy: list[Any], seen: set[int]) -> bool:
    """Whether ``func`` (a test, fixture or helper) reaches a heavy object through the globals it names."""
    func = inspect.unwrap(func)
    code = getattr(func, "__code__", None)
    if code is None or id(code) in seen:
        return False
    seen.add(id(code))
    module_globals = getattr(func, "__globals__", {})
    if "run" in _string_consts(code) and {"conformance.cli", "cli"} & {n for c in _codes(code) for n in c.co_names}:
        return True  # cli.main(["run", ...]) or a local `from conformance.cli import main`: a whole run, in process
    for c in _codes(code):
        for name in c.co_names:
            if name in _HEAVY_NAMES:
                return True
            obj = module_globals.get(name)
            if obj is None:
                continue
            if any(obj is h for h in heavy):
                return True
            if name == "main" and "run" in _string_consts(code) and getattr(obj, "__module__", "") == "conformance.cli":
                return True  # `from conformance.cli import main` at the top, then main(["run", ...])
            if isinstance(obj, type) and _is_local_helper(obj, func):  # a helper class: any of its methods
                if any(_is_heavy(m, heavy, seen) for m in vars(obj).values() if inspect.isfunction(m)):
                    return True
                continue
            if _is_local_helper(obj, func) and _is_heavy(obj, heavy, seen):
                return True
    return False


def _string_consts(code: types.CodeType) -> set[str]:
    return {const for c in _codes(code) for const in c.co_consts if isinstance(const, str)}


def _is_local_helper(obj: Any, test: Any) -> bool:
    """A function or class defined by the test suite itself (its helpers are followed, libraries are not)."""
    module = getattr(obj, "__module__", "") or ""
    if isinstance(obj, type):
        obj = vars(obj).get("__init__", obj)
    if callable(obj) and hasattr(obj, "__wrapped__"):  # functools.lru_cache, decorators
        obj = inspect.unwrap(obj)
    return callable(obj) and hasattr(obj, "__code__") and (module.startswith(("tests", "test_", "_"))
                                                            or module == getattr(test, "__module__", None))


def tier_of(item: pytest.Item, heavy: list[Any]) -> str:
    explicit = [m.name for m in item.iter_markers() if m.name in TIERS]
    if explicit:
        return explicit[0]
    module = getattr(item, "module", None)
    name = module.__name__.rpartition(".")[2] if module is not None else ""
    if name in BY_MODULE:
        return BY_MODULE[name]
    seen: set[int] = set()
    funcs = [getattr(item, "function", None)]
    info = getattr(item, "_fixtureinfo", None)
    if info is not None:
        for defs in info.name2fixturedefs.values():
            funcs += [d.func for d in defs if not d.func.__module__.startswith(("_pytest", "pytest", "hypothesis"))]
    if any(f is not None and _is_heavy(f, heavy, seen) for f in funcs):
        return "e2e"
    return "slow" if f"{item.path.name}::{getattr(item, 'originalname', item.name)}" in SLOW else "unit"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    heavy = _heavy_objects()
    for item in items:
        tier = tier_of(item, heavy)
        if not any(m.name == tier for m in item.iter_markers()):
            item.add_marker(getattr(pytest.mark, tier))
