"""Judging: pure functions from recorded exchanges to verdicts.

``checks`` (automatic, per exchange) and ``assertions`` (a case's ``expect:`` vocabulary) yield findings;
``basis`` classifies each finding (fail, warning, note) by the rule it rests on; ``schemas`` holds the
generated JSON Schemas; ``declines`` is the one rule for refusals; ``offline``/``captures`` judge saved
traffic with the same registry. Nothing here touches the network.
"""
