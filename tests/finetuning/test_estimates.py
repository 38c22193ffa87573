"""The review step's time estimate covers the whole job and learns this machine's speed from earlier jobs."""

from __future__ import annotations

import pytest
from django.utils import timezone

from modelfactory.catalog.models import BaseModel
from modelfactory.finetuning.estimates import estimate
from modelfactory.finetuning.models import FineTuneJob, JobMetric
from modelfactory.finetuning.selectors import observed_training_speed
from tests.support.factories import make_user

QUICK = {
    "max_steps": 60,
    "batch_size": 8,
    "max_seq_length": 256,
    "eval_fraction": 0.1,
    "eval_every_steps": 30,
    "rank": 16,
    "target_modules": "auto",
}


def smollm2_estimate(**overrides):
    arguments = dict(
        parameter_count=134_515_008,
        hidden_size=576,
        num_layers=30,
        rows=640,
        tokens=640 * 148,
        rows_over_length=0,
        spec=QUICK,
        hardware="cpu",
    )
    return estimate(**{**arguments, **overrides})


def test_a_measured_speed_replaces_the_flop_count_and_the_page_can_say_so():
    computed = smollm2_estimate()
    measured = smollm2_estimate(observed_tokens_per_second=computed.tokens_per_second / 2)

    assert not computed.speed_measured
    assert measured.speed_measured
    assert measured.tokens_per_second == pytest.approx(computed.tokens_per_second / 2, rel=1e-2)
    assert measured.minutes > 1.8 * computed.minutes - 1


def test_the_time_includes_evaluation_and_fixed_costs_not_only_the_training_steps():
    speed = 200.0
    with_eval = smollm2_estimate(observed_tokens_per_second=speed)
    without_eval = smollm2_estimate(observed_tokens_per_second=speed, spec={**QUICK, "eval_fraction": 0.0})
    training_only = with_eval.train_tokens / speed / 60

    assert with_eval.minutes > training_only + 0.5  # periodic and final evaluations, generation, loading
    assert without_eval.minutes < with_eval.minutes


@pytest.mark.django_db
def test_the_observed_speed_is_the_median_step_of_recent_succeeded_jobs_on_that_base_and_queue():
    owner = make_user()
    base = BaseModel.objects.create(name="smol", source="/models/smol")
    other = BaseModel.objects.create(name="other", source="/models/other")

    def job(base_model, status, speeds, queue="cpu"):
        made = FineTuneJob.objects.create(
            owner=owner,
            name="j",
            base_model=base_model,
            spec={},
            status=status,
            queue=queue,
            finished=timezone.now(),
        )
        JobMetric.objects.bulk_create(
            JobMetric(job=made, step=i + 1, tokens_per_second=speed) for i, speed in enumerate(speeds)
        )

    assert observed_training_speed(base, queue="cpu") is None
    job(base, FineTuneJob.Status.SUCCEEDED, [100, 200, 210])
    job(base, FineTuneJob.Status.FAILED, [5, 5, 5])
    job(other, FineTuneJob.Status.SUCCEEDED, [900, 900])
    job(base, FineTuneJob.Status.SUCCEEDED, [900, 900], queue="gpu")

    assert observed_training_speed(base, queue="cpu") == 200


def test_rows_are_counted_as_training_sees_them_with_the_chat_templates_tokens():
    bare = smollm2_estimate()
    rendered = smollm2_estimate(template_tokens_per_row=25)

    assert rendered.train_tokens == pytest.approx(bare.train_tokens * (148 + 25) / 148, rel=1e-3)
    assert rendered.minutes > bare.minutes


def test_the_default_models_template_adds_its_role_markers_and_default_system_prompt(default_base_model):
    from modelfactory.finetuning.selectors import _chat_template_tokens

    # "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, ...<|im_end|>" and two empty turns.
    assert 20 <= _chat_template_tokens(str(default_base_model)) <= 40
