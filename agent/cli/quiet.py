"""Library chatter off the technician's terminal: the command's own lines are the verdict.

OpenCV writes `[ WARN:0@0.428] global cap.cpp:… can't be used to capture by name` to stderr for
every source it cannot open, and paho logs `Client is not connected` at ERROR while a brief
connection is still being made; with no logging configured, Python's last-resort handler puts
such records on the terminal, above a table that already says what went wrong, and in words of
its own. The CLI keeps them out: records go nowhere, unless `VENUE_AGENT_CLI_LOG` names a file,
where they go for whoever debugs (OpenCV's own warnings, which it writes to stderr itself, are
then let through too). The daemon (`run`) is not
touched: there stderr is the journal, which is the log.
"""

from __future__ import annotations

import logging
import os

LOG_VARIABLE = "VENUE_AGENT_CLI_LOG"


def keep_libraries_off_the_terminal() -> None:
    root = logging.getLogger()
    log_file = os.environ.get(LOG_VARIABLE)
    if log_file:
        handler: logging.Handler = logging.FileHandler(log_file, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.setLevel(logging.INFO)
    else:
        handler = logging.NullHandler()  # a handler, so that the last-resort one never writes to stderr
    root.addHandler(handler)
    import cv2  # already imported by the probes; here only to set its own (C++) log level

    cv2.utils.logging.setLogLevel(
        cv2.utils.logging.LOG_LEVEL_WARNING if log_file else cv2.utils.logging.LOG_LEVEL_SILENT
    )
