"""Structured logs: one JSON object per line, with the fields passed as ``extra``."""

from __future__ import annotations

import json
import logging
import os

from shared.telemetry import current_trace_id

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "at": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        trace_id = current_trace_id()
        if trace_id:
            line["trace_id"] = trace_id
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


ACCESS_LOGGER = "hallmark.access"


def configure(level: str = "INFO", access: bool | None = None) -> None:
    """JSON lines on stderr at ``level``. The access line (one per request, logger ``hallmark.access``)
    shows at WARNING, the default, and below; ``HALLMARK_ACCESS_LOG=off`` (or ``access=False``) drops it."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    if access is None:
        access = os.environ.get("HALLMARK_ACCESS_LOG", "on").strip().lower() not in ("0", "off", "false", "no")
    access_logger = logging.getLogger(ACCESS_LOGGER)
    if not access:
        access_logger.setLevel(logging.CRITICAL + 1)
    elif root.level <= logging.WARNING:
        access_logger.setLevel(min(logging.INFO, root.level))
    else:
        access_logger.setLevel(logging.NOTSET)  # ERROR or CRITICAL asked for: errors only
