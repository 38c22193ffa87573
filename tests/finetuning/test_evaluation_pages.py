"""The held-out evaluation as people read it: scores and answers side by side on the job and model pages."""

from __future__ import annotations

import html
import re

import pytest

from modelfactory.catalog.models import BaseModel, PublishedModel
from modelfactory.finetuning.models import FineTuneJob
from modelfactory.finetuning.training.evaluation import SKIP_TEXT_ROW
from tests.finetuning.jobs_support import train_tiny_job
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db

REPORT = {
    "eval_tokens": 118,
    "base_eval_loss": 2.997459,
    "adapter_eval_loss": 1.908063,
    "base_perplexity": 20.0346,
    "adapter_perplexity": 6.74,
    "metric": "rouge_l_f1",
    "held_out_rows": 17,
    "scored_rows": 2,
    "base_rouge_l": 0.1667,
    "adapter_rouge_l": 0.75,
    "max_new_tokens": 64,
    "skipped": [{"reason": SKIP_TEXT_ROW, "rows": 2, "row_ids": [1001, 1005]}],
    "samples": [
        {
            "row_id": 15,
            "prompt": [
                {"role": "system", "content": "Answer with the number."},
                {"role": "user", "content": "What is 1 plus 9?"},
            ],
            "reference": "10.",
            "base_answer": "9 plus 2 is 10.",
            "adapter_answer": "10.",
            "base_rouge_l": 0.3333,
            "adapter_rouge_l": 1.0,
        },
        {
            "row_id": 36,
            "prompt": [{"role": "user", "content": "What is 3 plus 9?"}],
            "reference": "12.",
            "base_answer": "What is 9 is 9?",
            "adapter_answer": "13, or 12.",
            "base_rouge_l": 0.0,
            "adapter_rouge_l": 0.5,
        },
    ],
}

BEFORE_THE_TEXT_METRIC = {
    key: REPORT[key]
    for key in ("eval_tokens", "base_eval_loss", "adapter_eval_loss", "base_perplexity", "adapter_perplexity")
} | {
    "samples": [
        {
            "row_id": 15,
            "prompt": [{"role": "user", "content": "What is 1 plus 9?"}],
            "reference": "10.",
            "base_answer": "9 plus 2 is 10.",
            "adapter_answer": "10.",
        }
    ]
}


@pytest.fixture
def owner(client):
    user = make_user("evaluation_owner")
    client.force_login(user)
    return user


def make_job(owner, *, evaluation=None, status=FineTuneJob.Status.SUCCEEDED) -> FineTuneJob:
    base, _ = BaseModel.objects.get_or_create(
        name="tiny-base",
        defaults={"source": "/models/tiny", "architecture": "LlamaForCausalLM", "model_type": "llama"},
    )
    return FineTuneJob.objects.create(
        owner=owner,
        name="sums adapter",
        base_model=base,
        spec={"method": "lora", "rank": 8},
        status=status,
        evaluation=evaluation or {},
    )


def publish(job, api_name="sum-bot", *, kind=PublishedModel.Kind.ADAPTER) -> PublishedModel:
    return PublishedModel.objects.create(
        api_name=api_name, title="Sum bot", kind=kind, base_model=job.base_model, owner=job.owner, job=job
    )


def text(page: str) -> str:
    """The page's visible words on one line: tags dropped, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_the_job_page_shows_loss_and_rouge_l_for_base_and_adapter(client, owner):
    job = make_job(owner, evaluation=REPORT)

    page = text(client.get(f"/finetune/jobs/{job.pk}/").content.decode())

    assert "Eval loss" in page
    assert "2.997 → 1.908" in page
    assert "ROUGE-L F1 higher is better; mean over 2 held-out rows 0.167 → 0.750" in page
    assert "Perplexity lower is better 20.0 → 6.7" in page


def test_the_job_page_puts_the_answers_side_by_side_each_with_its_rouge_l(client, owner):
    job = make_job(owner, evaluation=REPORT)

    page = text(client.get(f"/finetune/jobs/{job.pk}/").content.decode())

    prompt_and_reference = "What is 1 plus 9? (after 1 earlier message) 10."
    assert f"{prompt_and_reference} 9 plus 2 is 10. ROUGE-L F1 0.333 10. ROUGE-L F1 1.000" in page
    assert "What is 3 plus 9? 12. What is 9 is 9? ROUGE-L F1 0.000 13, or 12. ROUGE-L F1 0.500" in page


def test_the_job_page_says_which_held_out_rows_were_not_scored_and_why(client, owner):
    job = make_job(owner, evaluation=REPORT)

    page = text(client.get(f"/finetune/jobs/{job.pk}/").content.decode())

    assert f"2 rows, {SKIP_TEXT_ROW}" in page


def test_a_job_page_without_evaluation_shows_an_empty_state_that_says_why(client, owner):
    running = make_job(owner, status=FineTuneJob.Status.RUNNING)
    failed = make_job(owner, status=FineTuneJob.Status.FAILED)

    running_page = client.get(f"/finetune/jobs/{running.pk}/").content.decode()
    failed_page = text(client.get(f"/finetune/jobs/{failed.pk}/").content.decode())

    assert 'data-testid="evaluation-empty"' in running_page
    assert 'data-testid="evaluation"' not in running_page
    assert "runs when training ends" in text(running_page)
    assert "the job did not finish training" in failed_page


def test_an_evaluation_from_before_the_text_metric_still_shows_its_loss_and_answers(client, owner):
    job = make_job(owner, evaluation=BEFORE_THE_TEXT_METRIC)

    page = text(client.get(f"/finetune/jobs/{job.pk}/").content.decode())

    assert "2.997 → 1.908" in page
    assert "not measured: this job was evaluated before answers were scored — → —" in page
    assert "What is 1 plus 9? 10. 9 plus 2 is 10. 10." in page


def test_the_model_page_shows_both_scores_and_the_answers_side_by_side(client, owner):
    publish(make_job(owner, evaluation=REPORT))

    response = client.get("/models/sum-bot/")
    page = text(response.content.decode())

    assert 'data-testid="evaluation"' in response.content.decode()
    assert "Base model This model" in page
    assert "2.997 → 1.908" in page
    assert "mean over 2 held-out rows 0.167 → 0.750" in page
    assert "13, or 12. ROUGE-L F1 0.500" in page


def test_a_model_without_a_training_job_says_it_has_no_held_out_evaluation(client, owner):
    job = make_job(owner)
    imported = PublishedModel.objects.create(
        api_name="imported-bot", title="Imported", kind=PublishedModel.Kind.ADAPTER, base_model=job.base_model
    )
    base = PublishedModel.objects.create(
        api_name="tiny-base", title="Tiny", kind=PublishedModel.Kind.BASE, base_model=job.base_model
    )

    imported_page = client.get(f"/models/{imported.api_name}/").content.decode()
    base_page = client.get(f"/models/{base.api_name}/").content.decode()

    assert "not trained here, so there is no held-out evaluation" in text(imported_page)
    assert 'data-testid="evaluation' not in base_page  # a base model has nothing to be compared with


def test_a_trained_job_and_its_model_page_show_rouge_l_for_base_and_adapter(client, use_tiny_base_model):
    owner = make_user("trained_evaluation_owner")
    job = train_tiny_job(client, owner, use_tiny_base_model, max_steps=2)
    job.refresh_from_db()
    publish(job, "trained-sum-bot")

    job_page = text(client.get(f"/finetune/jobs/{job.pk}/").content.decode())
    model_page = text(client.get("/models/trained-sum-bot/").content.decode())

    scored = job.evaluation["scored_rows"]
    assert scored > 0
    mean = f"mean over {scored} held-out row{'s' if scored > 1 else ''}"
    scores = f"{job.evaluation['base_rouge_l']:.3f} → {job.evaluation['adapter_rouge_l']:.3f}"
    assert f"{mean} {scores}" in job_page
    assert f"{mean} {scores}" in model_page
    assert job.evaluation["samples"][0]["adapter_answer"] in job_page
