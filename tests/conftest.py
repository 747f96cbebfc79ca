"""Settings every test process needs, however pytest was started."""
from __future__ import annotations

import signal

# A shell starts a background job with SIGINT ignored, and an ignored signal stays ignored across exec:
# the commands the tests start would then never see the Ctrl-C the signal tests send them.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
