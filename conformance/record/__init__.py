"""Recording: what a run sent and received, kept as evidence (``har``: the run's lossless HAR 1.2 file)."""
