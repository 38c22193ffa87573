"""One JSON object per log line (`MODELFACTORY_LOG_FORMAT=json`), for a log collector to index.

Each line has `timestamp` (UTC, ISO 8601), `level`, `logger` and `message`, then whatever the log context
holds (`request_id`, `user_id`, `model`, `receipt_id`; `task_id`, `task_name` in a worker), then the
record's own extra fields (the request line's `method`, `route`, `status`, `duration_ms`), and
`exception` with the traceback, escaped onto the same line, so one record is always one line.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from modelfactory.observability import log_context

_STANDARD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's copy of the message with terminal colour codes
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "timestamp": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(log_context.current())
        for name, value in record.__dict__.items():
            if name not in _STANDARD_ATTRIBUTES and not name.startswith("_"):
                entry.setdefault(name, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)
