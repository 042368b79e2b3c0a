"""Consumers of results: the JSON results file (with its published schema) and the console summary."""

from .results import RESULTS_SCHEMA_PATH, SCHEMA_VERSION, build_results, exchange_evidence, write_results
from .summary import format_summary

__all__ = ["RESULTS_SCHEMA_PATH", "SCHEMA_VERSION", "build_results", "exchange_evidence", "format_summary", "write_results"]
