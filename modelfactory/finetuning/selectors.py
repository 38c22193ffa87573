"""Reads on fine-tuning: jobs a user may see, queue positions, metrics for the charts, the wizard's facts."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from django.db.models import QuerySet

from datanets.models import Datanet, Version
from datanets.selectors import datanets_usable_by
from modelfactory.catalog.models import BaseModel
from modelfactory.finetuning.models import FineTuneJob, JobMetric


def jobs_of(user) -> QuerySet[FineTuneJob]:
    if not user.is_authenticated:
        return FineTuneJob.objects.none()
    return FineTuneJob.objects.filter(owner=user).select_related("base_model")


def job_for(user, job_id: int) -> FineTuneJob:
    return jobs_of(user).get(pk=job_id)


def queue_position(job: FineTuneJob) -> int | None:
    """1 for the next job to start on its queue; None when the job is not waiting."""
    if job.status != FineTuneJob.Status.QUEUED:
        return None
    ahead = FineTuneJob.objects.filter(
        status=FineTuneJob.Status.QUEUED, queue=job.queue, created__lt=job.created
    )
    return ahead.count() + 1


def job_curves(job: FineTuneJob, *, after_step: int = -1) -> dict:
    """Metric series for Chart.js; `after_step` lets the page fetch only the new points."""
    metrics = JobMetric.objects.filter(job=job, step__gt=after_step).order_by("step")
    series: dict[str, list] = {
        "step": [],
        "loss": [],
        "eval_loss": [],
        "learning_rate": [],
        "grad_norm": [],
        "tokens_per_second": [],
    }
    for metric in metrics:
        for key in series:
            series[key].append(getattr(metric, key))
    return series


def trainable_datanets(user) -> list[tuple[Datanet, list[Version]]]:
    """The datanets this user may train on that have at least one published version, newest first."""
    result = []
    for datanet in datanets_usable_by(user).order_by("title"):
        versions = list(datanet.versions.order_by("-number"))
        if versions:
            result.append((datanet, versions))
    return result


def versions_usable_by(user, version_ids: list[int]) -> list[Version]:
    return list(
        Version.objects.filter(pk__in=version_ids, datanet__in=datanets_usable_by(user)).select_related(
            "datanet"
        )
    )


@cache
def _config(source: str) -> dict:
    from inference.base_model import locate_base_model

    return json.loads((Path(locate_base_model(source).path) / "config.json").read_text())


def architecture_facts(base_model: BaseModel) -> dict:
    """Hidden size, layers and the LoRA target modules detected for this architecture (no weights loaded)."""
    config = _config(base_model.source)
    return {
        "hidden_size": config.get("hidden_size") or config.get("n_embd") or 0,
        "num_layers": config.get("num_hidden_layers") or config.get("n_layer") or 0,
        "targets": _targets(base_model.source),
    }


@cache
def _targets(source: str) -> dict:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from inference.base_model import locate_base_model
    from modelfactory.finetuning.training.target_modules import detect_target_modules

    config = AutoConfig.from_pretrained(locate_base_model(source).path)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    detected = detect_target_modules(model)
    return {
        "attention": list(detected.attention),
        "mlp": list(detected.mlp),
        "conv1d": detected.fan_in_fan_out,
    }


def jobs_for_comparison(user, job_ids: list[int]) -> list[FineTuneJob]:
    return list(jobs_of(user).filter(pk__in=job_ids))
