"""The fixtures of the modules that talk to the reference server over real HTTP (tests/test_reference_server*.py).

One server a module (starting it is the slow part), a fresh client a test; a module takes them with
``from tests._reference import reference_client, reference_server`` and its tests ask for ``server`` and ``client``
(the fixtures' names differ from the functions' so that a test's parameter does not shadow an import).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from conformance.reference import ReferenceServer


@pytest.fixture(scope="module", name="server")
def reference_server() -> Iterator[ReferenceServer]:
    with ReferenceServer() as srv:
        yield srv


@pytest.fixture(name="client")
def reference_client(server: ReferenceServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=10) as c:
        yield c
