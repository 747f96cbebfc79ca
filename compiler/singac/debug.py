"""Debug and checking switches, read from the environment in this one place."""
from __future__ import annotations

import os

# SINGAC_CHECK=1 runs the graph checker after every pass (tests turn it on).
CHECK = os.environ.get("SINGAC_CHECK", "") not in ("", "0")

# SINGAC_DEBUG=1 lets an internal error end in its traceback instead of one line.
DEBUG = os.environ.get("SINGAC_DEBUG", "") not in ("", "0")
