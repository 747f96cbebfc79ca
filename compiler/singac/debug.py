"""Debug and checking switches, read from the environment in this one place."""
from __future__ import annotations

import os

# SINGAC_CHECK=1 runs the graph checker after every pass (tests turn it on).
CHECK = os.environ.get("SINGAC_CHECK", "") not in ("", "0")
