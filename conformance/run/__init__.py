"""Running: the engine that schedules recording, judges each case, applies limits and baselines, and emits
events (conformance/run/events.py) to the reporters that subscribe to them (conformance/report/).

It knows nothing of pytest: ``responses-conformance run`` and the pytest plugin are thin front ends over it,
and every option is declared once (conformance/run/options.py).
"""
