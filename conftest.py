"""Lets plain ``pytest conformance/suite/cases`` run the conformance cases (options: --base-url, --model, --api-key-env...).

The suite's own tests live in ``tests/`` and are run with ``scripts/test``.
"""

pytest_plugins = ["conformance.pytest_plugin"]
