"""The HTTP-level assertions: ``status`` (judged by documented error classes) and ``header``."""

from __future__ import annotations

import re
from typing import Any

from ..._verdict import Finding
from ...record.exchange import Exchange
from .arguments import check_matches_arg, expected_statuses
from .registry import SPEC, ExpectContext, Problems, assertion

__all__ = ["DOCUMENTED_4XX"]

#: Statuses OpenAI's documentation assigns to a class of client error (docs/verdicts.md): a missing or wrong
#: key is 401, an unknown id is 404. Any other specific 4xx (400 vs 422 for a validation error, 409...) is what
#: api.openai.com answers, not a documented rule.
DOCUMENTED_4XX = frozenset({401, 404})


def _status_label(arg: Any) -> str:
    items = arg if isinstance(arg, list) else [arg]
    return " or ".join(str(i) for i in items)


@assertion("status", basis="error-class", spec_ref=SPEC + "/paths/~1responses/post/responses",
           proof=("auth_403", "errors.invalid_auth"))
def _status(arg: Any, ex: Exchange, ctx: ExpectContext) -> Problems:
    """HTTP status is one of the given codes or classes: ``200``, ``[400, 404]``, ``4xx``.

    Judged by what is documented: a status of the wrong class (a 2xx or 5xx where a 4xx was expected, a
    4xx where a 200 was) fails, and so does any other status where only 401/404 (documented error classes)
    were expected. Another 4xx where a specific undocumented 4xx was expected (422 for 400, 400 for 409)
    is a finding with basis ``observed``: a warning, not a fail.
    """
    wanted = expected_statuses(arg)
    got = ex.status
    if got is not None and got in wanted:
        return
    snippet = ex.text[:200] if ex.body else ""
    message = f"expected HTTP status {_status_label(arg)}, got {got}" + (f" (body: {snippet!r})" if snippet else "")
    # the finding key groups by status class, never by the body: one root cause over many cases is one deviation
    kind = f"got {'no answer' if got is None else f'{got // 100}xx'} where {_status_label(arg)} was expected"
    specific_4xx = {s for s in wanted if 400 <= s < 500}
    if got is not None and 400 <= got < 500 and specific_4xx and not specific_4xx <= DOCUMENTED_4XX:
        yield Finding(message + " (the same class of client error: which 4xx is what api.openai.com answers, not a "
                      "documented rule)", kind=kind, basis="observed")
        return
    yield Finding(message, kind=kind)


@assertion(
    "header", basis="documented",
    spec_ref=SPEC + "/paths/~1responses/post/responses/200/content",
    validate=check_matches_arg, proof=("json_wrong_content_type", "basic.text"),
)
def _header(arg: Any, ex: Exchange, ctx: ExpectContext) -> Problems:
    """Response header ``name`` (case-insensitive) ``equals`` / ``matches`` / ``contains`` / ``exists``."""
    value = ex.header(arg["name"])
    ops = [k for k in ("equals", "matches", "contains") if k in arg]
    exists = arg.get("exists", True if not ops else None)
    if exists is True and value is None:
        yield Finding(f"expected header {arg['name']!r}, but it is absent")
        return
    if exists is False:
        if value is not None:
            yield Finding(f"expected no header {arg['name']!r}, got {value!r}")
        return
    if value is None:
        yield Finding(f"expected header {arg['name']!r}, but it is absent")
        return
    if "equals" in arg and value != arg["equals"]:
        yield Finding(f"expected header {arg['name']}: {arg['equals']!r}, got {value!r}")
    if "matches" in arg and not re.search(arg["matches"], value, re.I):
        yield Finding(f"expected header {arg['name']} to match /{arg['matches']}/ (case-insensitive), got {value!r}")
    if "contains" in arg and arg["contains"].lower() not in value.lower():
        yield Finding(f"expected header {arg['name']} to contain {arg['contains']!r}, got {value!r}")
