"""Named checks over recorded exchanges. Importing this package registers all checks."""

from ._registry import REGISTRY, Check, CheckContext, check, endpoint_of, run_checks

__all__ = ["REGISTRY", "Check", "CheckContext", "check", "endpoint_of", "run_checks"]
