"""``python -m conformance`` is the same as ``responses-conformance``."""

import sys

from .cli import main

sys.exit(main())
