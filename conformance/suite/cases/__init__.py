"""The built-in cases (``*.yaml``, one feature group per file).

A package only so plain pytest finds them from any directory after an install:
``pytest --pyargs conformance.suite.cases --conformance-base-url URL --conformance-model M
--conformance-api-key-env VAR`` (README, "Running it").
"""
