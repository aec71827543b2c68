"""Library chatter off the technician's terminal: the command's own lines are the verdict.

OpenCV writes `[ WARN:0@0.428] global cap.cpp:… can't be used to capture by name` to stderr for
every source it cannot open, and paho logs `Client is not connected` at ERROR while a brief
connection is still being made; with no logging configured, Python's last-resort handler puts
such records on the terminal, above a table that already says what went wrong, and in words of
its own. The CLI keeps them out: records go nowhere, unless `VENUE_AGENT_CLI_LOG` names a file,
where they go for whoever debugs (OpenCV's own warnings, which it writes to stderr itself, are
then let through too). Python warnings (pysnmp's, for one) are routed into logging the same
way (`logging.captureWarnings`), so they land in that file too, not on stderr. OpenCV's level
must be set through its API (its `OPENCV_LOG_LEVEL` variable does not quieten the FFmpeg
backend's `[tcp @ …]` lines, seen here), so OpenCV is loaded for the commands that use it and left
unloaded for those that do not (`status`, `schedule`, `probe snmp`). The daemon (`run`) is not
touched: there stderr is the journal, which is the log.
"""

from __future__ import annotations

import logging
import os
import sys

LOG_VARIABLE = "VENUE_AGENT_CLI_LOG"


def keep_libraries_off_the_terminal() -> None:
    """Every library's log record and warning to the log file (or nowhere), none to the terminal."""
    logging.captureWarnings(True)
    root = logging.getLogger()
    log_file = os.environ.get(LOG_VARIABLE)
    if log_file:
        handler: logging.Handler = logging.FileHandler(log_file, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.setLevel(logging.INFO)
    else:
        handler = logging.NullHandler()  # a handler, so that the last-resort one never writes to stderr
    root.addHandler(handler)
    quieten_opencv(load=False)


def quieten_opencv(load: bool = True) -> None:
    """OpenCV's own (C++) log level, which its FFmpeg backend follows: silent, or warnings when
    `VENUE_AGENT_CLI_LOG` is set. Called by the commands that open pictures (`probe video`,
    `selftest`) before they do; `load=False` only sets it if OpenCV is already loaded."""
    cv2 = sys.modules.get("cv2")
    if cv2 is None and load:
        import cv2
    if cv2 is not None:
        logging_api = cv2.utils.logging
        logging_api.setLogLevel(
            logging_api.LOG_LEVEL_WARNING if os.environ.get(LOG_VARIABLE) else logging_api.LOG_LEVEL_SILENT
        )
