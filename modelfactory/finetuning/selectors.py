"""Reads on fine-tuning: jobs a user may see, queue positions, metrics for the charts, the wizard's facts."""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from django.db.models import QuerySet, Sum

from datanets.models import Datanet, Row, Version
from datanets.selectors import datanets_usable_by
from modelfactory.catalog.models import BaseModel
from modelfactory.finetuning.errors import JobNotFound
from modelfactory.finetuning.estimates import RowsOverLength
from modelfactory.finetuning.models import FineTuneJob, JobMetric


def jobs_of(user) -> QuerySet[FineTuneJob]:
    if not user.is_authenticated:
        return FineTuneJob.objects.none()
    return FineTuneJob.objects.filter(owner=user).select_related("base_model")


def job_for(user, job_id: int) -> FineTuneJob:
    """One of the user's own jobs; another person's is as absent as a missing one (`JobNotFound`)."""
    job = jobs_of(user).filter(pk=job_id).first()
    if job is None:
        raise JobNotFound(f"no job {job_id} of yours")
    return job


def job_datanet_versions(job: FineTuneJob) -> QuerySet[Version]:
    return job.datanet_versions.select_related("datanet")


def base_model_chosen(base_model_id: int | None) -> BaseModel | None:
    """The wizard's chosen base model, or None when none is chosen (or it was removed since)."""
    return BaseModel.objects.filter(pk=base_model_id).first() if base_model_id else None


def version_rows(versions: list[Version]) -> QuerySet[Row]:
    """The distinct rows of these versions: a row in two versions is trained on once."""
    return Row.objects.filter(versions__in=versions).distinct()


def rows_token_total(rows: QuerySet[Row]) -> int:
    return rows.aggregate(n=Sum("token_count"))["n"] or 0


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


def job_data_report(job: FineTuneJob) -> dict[str, Any]:
    """What training did to the data (rows kept, cut at the length limit, dropped), as the manifest says.

    The manifest is the record that travels with the adapter, so the page reads the counts from it; the
    job's own copy (`data_report`) is the fallback for a job that stopped before writing one.
    """
    return dict((job.manifest or {}).get("data") or job.data_report or {})


def job_resume_step(job: FineTuneJob) -> int | None:
    """The step a stopped (cancelled or failed) job would resume from: its last complete checkpoint.

    None when it is not stopped, or when no checkpoint was written before it stopped: queueing it again
    then starts from step 0, and the page must not call that resuming.
    """
    from modelfactory.finetuning.training.checkpoints import (
        CHECKPOINTS_DIRNAME,
        checkpoint_step,
        last_complete_checkpoint,
    )

    if job.status not in (FineTuneJob.Status.CANCELLED, FineTuneJob.Status.FAILED) or not job.output_dir:
        return None
    checkpoint = last_complete_checkpoint(Path(job.output_dir) / CHECKPOINTS_DIRNAME)
    return checkpoint_step(checkpoint) if checkpoint is not None else None


SPEED_HISTORY_JOBS = 3


def observed_training_speed(base_model: BaseModel, queue: str) -> float | None:
    """Median training tokens per second over the steps of the last few succeeded jobs on ``base_model``
    and ``queue`` on this installation, or None before there are any.

    The median of steps, not of jobs: a step slowed by an evaluation or another process counts once.
    """
    recent = FineTuneJob.objects.filter(
        base_model=base_model, queue=queue, status=FineTuneJob.Status.SUCCEEDED
    ).order_by("-finished")[:SPEED_HISTORY_JOBS]
    steps = JobMetric.objects.filter(job__in=recent, tokens_per_second__gt=0)
    speeds = list(steps.values_list("tokens_per_second", flat=True))
    return statistics.median(speeds) if speeds else None


def trainable_datanets(user) -> list[tuple[Datanet, list[Version]]]:
    """The datanets this user may train on that have at least one published version, newest first."""
    result = []
    for datanet in datanets_usable_by(user).order_by("title"):
        versions = list(datanet.versions.order_by("-number"))
        if versions:
            result.append((datanet, versions))
    return result


LENGTH_CHECK_MARGIN = 32
"""Tokens under the limit (content and one turn's template) below which a row is taken to fit without
encoding it: only a row with about six more turns than one question and answer carries that many more
role markers."""
LENGTH_CHECK_MAX_ROWS = 2000
"""Rows near the limit encoded exactly for the review step (about a second with SmolLM2's tokenizer
on a 2-core machine); past that, the count is the estimate from stored token counts."""


def rows_over_length(
    rows: QuerySet[Row], *, base_model: BaseModel, max_seq_length: int, template_tokens: int
) -> RowsOverLength:
    """Rows that training will cut at ``max_seq_length``, counted the way training counts them.

    A row's stored ``token_count`` is of its content alone; training sees it rendered with the chat
    template. Rows near the limit are encoded with the training library's own `encode_row`, so the
    review step warns about the same rows the manifest's ``truncated_rows`` will list.
    """
    from modelfactory.finetuning.training.data import RowInvalid, chat_template_of, encode_row

    near = rows.filter(token_count__gt=max_seq_length - template_tokens - LENGTH_CHECK_MARGIN)
    if near.count() > LENGTH_CHECK_MAX_ROWS:
        return RowsOverLength(near.filter(token_count__gt=max_seq_length - template_tokens).count(), False)
    tokenizer = _tokenizer(base_model.source)
    template, _ = chat_template_of(tokenizer)
    cut = 0
    for content in near.values_list("content", flat=True):
        try:
            encoded = encode_row(content, tokenizer, max_seq_length=max_seq_length, chat_template=template)
        except RowInvalid:  # a row training would refuse is reported by training, not counted here
            continue
        cut += encoded.truncated
    return RowsOverLength(cut, True)


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
        "chat_template_tokens": _chat_template_tokens(base_model.source),
    }


@cache
def _tokenizer(source: str):
    """The base model's tokenizer, loaded once per process (the review step counts with it)."""
    from transformers import AutoTokenizer

    from inference.base_model import locate_base_model

    return AutoTokenizer.from_pretrained(locate_base_model(source).path)


@cache
def _chat_template_tokens(source: str) -> int:
    """Tokens the chat template adds to a one-question, one-answer row (role markers, a default system
    prompt): row token counts are of the content alone, training sees the rendered row. 0 without one."""
    from modelfactory.finetuning.training.data import chat_template_of

    tokenizer = _tokenizer(source)
    template, _ = chat_template_of(tokenizer)
    empty_turns = [{"role": "user", "content": ""}, {"role": "assistant", "content": ""}]
    try:
        rendered = tokenizer.apply_chat_template(empty_turns, chat_template=template, tokenize=False)
    except Exception:  # a template that refuses empty turns: count nothing rather than fail the page
        return 0
    return len(tokenizer(rendered, add_special_tokens=False)["input_ids"])


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


TEXT_METRIC_NAMES = {"rouge_l_f1": "ROUGE-L F1"}


def job_evaluation(job: FineTuneJob) -> dict[str, Any]:
    """The job page's evaluation panel: the summary, or (``missing``) why there is none yet or at all."""
    summary = evaluation_summary(job.evaluation or (job.manifest or {}).get("evaluation"))
    if summary is not None:
        missing = ""
    elif job.status in FineTuneJob.ACTIVE:
        missing = "The held-out evaluation runs when training ends: loss and answers, base model vs adapter."
    elif job.status == FineTuneJob.Status.SUCCEEDED:
        missing = "This job ran without the held-out evaluation."
    else:
        missing = "No evaluation: the job did not finish training."
    return {"summary": summary, "missing": missing}


def evaluation_summary(evaluation: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What the job and model pages show of a job's held-out evaluation (base model vs adapter).

    ``evaluation`` is the report `compare_base_and_adapter` wrote (job record or manifest); None when
    there is none. Reports from before the text metric have no ROUGE-L: ``text_metric`` is then None
    and ``no_text_metric_reason`` says so, as it says why no row was scored in newer ones.
    """
    if not evaluation:
        return None
    samples = [_sample_summary(sample) for sample in evaluation.get("samples") or []]
    metric = evaluation.get("metric")
    skipped = [
        {"reason": group.get("reason", ""), "rows": group.get("rows", 0), "row_ids": group.get("row_ids", [])}
        for group in evaluation.get("skipped") or []
    ]
    held_out_rows = evaluation.get("held_out_rows")
    if metric is None:
        no_text_metric_reason = "not measured: this job was evaluated before answers were scored"
    elif not held_out_rows:
        no_text_metric_reason = "no held-out rows: the job kept no evaluation split"
    elif not samples:
        no_text_metric_reason = "no held-out row is a prompt with an answer to compare with"
    else:
        no_text_metric_reason = None
    return {
        "base_eval_loss": evaluation.get("base_eval_loss"),
        "adapter_eval_loss": evaluation.get("adapter_eval_loss"),
        "base_perplexity": evaluation.get("base_perplexity"),
        "adapter_perplexity": evaluation.get("adapter_perplexity"),
        "eval_tokens": evaluation.get("eval_tokens"),
        "held_out_rows": held_out_rows,
        "text_metric": TEXT_METRIC_NAMES.get(metric, metric) if metric else None,
        "base_text_score": evaluation.get("base_rouge_l"),
        "adapter_text_score": evaluation.get("adapter_rouge_l"),
        "scored_rows": evaluation.get("scored_rows", len(samples)),
        "no_text_metric_reason": no_text_metric_reason,
        "max_new_tokens": evaluation.get("max_new_tokens"),
        "skipped": skipped,
        "samples": samples,
    }


def _sample_summary(sample: Mapping[str, Any]) -> dict[str, Any]:
    """One held-out row for the side-by-side table: the last user turn is "the prompt"; earlier turns
    (system prompt, previous exchanges) are counted, not shown."""
    prompt = sample.get("prompt") or []
    users = [index for index, message in enumerate(prompt) if message.get("role") == "user"]
    shown = users[-1] if users else len(prompt) - 1
    return {
        "row_id": sample.get("row_id"),
        "prompt": prompt[shown].get("content", "") if prompt else "",
        "earlier_turns": max(shown, 0),
        "reference": sample.get("reference", ""),
        "base_answer": sample.get("base_answer", ""),
        "adapter_answer": sample.get("adapter_answer", ""),
        "base_score": sample.get("base_rouge_l"),
        "adapter_score": sample.get("adapter_rouge_l"),
    }
