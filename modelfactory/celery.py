"""The Celery app shared by the web process (which enqueues) and the workers (which run).

Queues: `gpu` (one job per GPU worker), `cpu` (training on CPU hosts), `attribution` (index builds
and answers' attribution, which need their own copy of the model) and `default` (short housekeeping
tasks). Tasks are acks_late so that a worker killed mid-task gives the task back.

Every log line a task writes carries its id and name, and is JSON with MODELFACTORY_LOG_FORMAT=json
(modelfactory/observability/celery_logging.py).
"""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import (
    after_setup_logger,
    after_setup_task_logger,
    task_postrun,
    task_prerun,
    worker_ready,
    worker_shutdown,
    worker_shutting_down,
)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "modelfactory.settings.base")

app = Celery("modelfactory", task_cls="modelfactory.worker_stopping:StopAwareTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.beat_schedule = {
    "record-pipeline-heartbeat": {
        "task": "modelfactory.health.tasks.record_pipeline_heartbeat",
        "schedule": 15.0,
        "options": {"expires": 14.0},
    },
    "settle-epochs": {
        "task": "modelfactory.ledger.tasks.settle_epochs",
        "schedule": 30.0,
        "options": {"expires": 29.0},
    },
    "watch-vault": {
        "task": "modelfactory.ledger.tasks.watch_vault",
        "schedule": 10.0,
        "options": {"expires": 9.0},
    },
    "register-on-chain": {
        "task": "modelfactory.ledger.tasks.register_on_chain",
        "schedule": 30.0,
        "options": {"expires": 29.0},
    },
    "sweep-attribution": {
        "task": "modelfactory.attribution.tasks.sweep_attribution",
        "schedule": 30.0,
        "options": {"expires": 29.0},
    },
    "release-stale-reservations": {
        "task": "modelfactory.billing.tasks.release_stale_reservations",
        "schedule": 300.0,
        "options": {"expires": 299.0},
    },
    "fail-abandoned-answers": {
        "task": "modelfactory.playground.tasks.fail_abandoned_answers",
        "schedule": 300.0,
        "options": {"expires": 299.0},
    },
    "resend-lost-adapter-imports": {
        "task": "modelfactory.catalog.tasks.resend_lost_imports",
        "schedule": 300.0,
        "options": {"expires": 299.0},
    },
    "recover-stalled-finetune-jobs": {
        "task": "modelfactory.finetuning.tasks.recover_stalled_jobs",
        "schedule": 20.0,
        "options": {"expires": 19.0},
    },
}


@worker_ready.connect
def _start_worker_heartbeat(sender, **_kwargs) -> None:
    from modelfactory.health.worker_heartbeat import start_heartbeat_thread

    queues = sorted(queue.name for queue in sender.app.amqp.queues.consume_from.values())
    start_heartbeat_thread(hostname=sender.hostname, queues=queues)


@worker_shutting_down.connect
def _begin_worker_stop(**_kwargs) -> None:
    """Runs in the SIGTERM handler: only flags, so that a running training job checkpoints and hands
    itself back, and the heartbeat signs off while Celery's loop is still noticing the signal."""
    from modelfactory.health.worker_heartbeat import begin_signing_off
    from modelfactory.worker_stopping import worker_stop_requested

    worker_stop_requested()
    begin_signing_off()


@worker_shutdown.connect
def _stop_worker_heartbeat(sender, **_kwargs) -> None:
    from modelfactory.health.worker_heartbeat import stop_heartbeat_thread

    stop_heartbeat_thread()


@task_prerun.connect
def _task_log_context_begin(**kwargs) -> None:
    from modelfactory.observability.celery_logging import task_started

    task_started(**kwargs)


@task_postrun.connect
def _task_log_context_end(**kwargs) -> None:
    from modelfactory.observability.celery_logging import task_ended

    task_ended(**kwargs)


@after_setup_logger.connect
@after_setup_task_logger.connect
def _json_logs_when_asked(**kwargs) -> None:
    from modelfactory.observability.celery_logging import use_json_format

    use_json_format(**kwargs)
