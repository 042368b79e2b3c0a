"""Named checks over recorded exchanges. Importing this package registers all checks.

Modules are imported in report order: HTTP, the Response object, request echo, then streams.
"""

from . import http  # noqa: F401, I001  (registers checks; order is report order)
from . import response  # noqa: F401
from . import semantics  # noqa: F401
from . import streaming  # noqa: F401
from . import lifecycle  # noqa: F401
from . import accumulation  # noqa: F401
from . import tools  # noqa: F401
from . import websocket  # noqa: F401
from ._registry import REGISTRY, Check, CheckContext, check, endpoint_of, run_checks

__all__ = ["REGISTRY", "Check", "CheckContext", "check", "endpoint_of", "run_checks"]
