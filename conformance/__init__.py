"""responses-conformance: an evidence-backed conformance suite for the OpenAI Responses API."""

__version__ = "0.1.0"

__all__ = ["__version__"]
