"""A failpoint for tests only: crash ingest at one exact place to prove what a crash there does.

Off unless ``LORACITY_TEST_FAILPOINT`` names the point. It exists so a test can show, without
racing a ``kill -9`` against the write loop, that a batch committed but not yet acknowledged is
redelivered by the broker and then counted as duplicates and stored once. Never set it in
production: the process exits on the spot, losing its in-memory state as a crash would.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

FAILPOINT_VAR = "LORACITY_TEST_FAILPOINT"
# The one point there is: after a batch's transaction committed, before its acknowledgements.
AFTER_COMMIT_BEFORE_ACK = "after-commit-before-ack"
# The exit status of a process stopped by a failpoint.
FAILPOINT_EXIT_STATUS = 86


def crash_here(point: str) -> None:
    """Exit the process at once (no cleanup, no flush) when the failpoint ``point`` is on."""
    if os.environ.get(FAILPOINT_VAR) == point:
        log.critical("test failpoint %s reached: exiting now", point)
        logging.shutdown()
        os._exit(FAILPOINT_EXIT_STATUS)
