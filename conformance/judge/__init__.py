"""Judging: pure functions from recorded exchanges to verdicts.

``registry`` is the one registry of everything that judges, each rule with its spec reference, basis and the
reference-server deviation that proves it can fail; ``checks`` (automatic, per exchange) and ``expect`` (a case's
``expect:`` vocabulary) register in it and yield findings; ``basis`` classifies each finding (fail, warning,
note) by the rule it rests on; ``schemas`` holds the generated JSON Schemas; ``declines`` is the one rule for
refusals; ``offline``/``captures`` judge saved traffic with the same registry. Nothing here touches the network.
"""
