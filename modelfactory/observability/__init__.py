"""What an operator watches: Prometheus metrics at /metrics and structured (JSON) log lines.

- `http.py`: the middleware every request passes first: its id and who asked in the log context, one
  request line, and the HTTP metrics (by route name and status class, so series stay bounded).
- `log_context.py`, `json_logs.py`: the fields a log line carries beyond its message (request id, user,
  model, receipt; a Celery task's id and name, set by `celery_logging.py`), and the JSON formatter.
- `metrics.py`, `collectors.py`: the metrics registry; the engine's `stats()`, the Celery queues' depths
  and the settlement backlog are read at scrape time, never kept up to date in the background.
- `metrics_access.py`, `views.py`: /metrics, for a bearer token or an allow-listed address only.

Liveness and readiness (/livez, /readyz) are health checks and live in `modelfactory/health/`.
"""
