"""Downloading an adapter trained here and importing it again keeps its lineage and pays its people.

The attack: a fine-tuned adapter's zip, imported as a new model, answered the same while its receipts
credited no datanet and paid no contributor. Imports are now compared with every adapter trained on the
same base model (same files, or near-identical LoRA deltas), and a copy keeps the original's lineage; an
import with no known origin says so on its page and its receipts.
"""

from __future__ import annotations

import pytest

from modelfactory.catalog.adapter_import import served_module_shapes
from modelfactory.catalog.models import ORIGIN_UNKNOWN, PublishedModel
from modelfactory.catalog.services import model_publish_from_job
from modelfactory.finetuning.export_services import adapter_directory
from modelfactory.ledger.payees import person_key
from modelfactory.ledger.receipt_services import lineage, receipt_record
from tests.finetuning.jobs_support import train_tiny_job
from tests.support.adapter_imports import import_and_run
from tests.support.factories import make_user
from tests.support.lora_files import disguised, random_pairs, read_pairs, write_adapter, zipped

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(client, use_tiny_base_model):
    """A finished fine-tune of `original_developer` on a datanet with several contributors."""
    return train_tiny_job(client, make_user("original_developer"), use_tiny_base_model, max_steps=2)


def import_as(client, user, api_name: str, data: bytes, base_model) -> PublishedModel:
    client.force_login(user)
    ended = import_and_run(client, api_name, data, base_model)
    assert ended.status == ended.Status.IMPORTED, ended.error
    return PublishedModel.objects.get(api_name=api_name)


def lineage_of_job(job) -> dict:
    """The contributor weights an answer of the job's own adapter carries."""
    published = model_publish_from_job(job=job, user=job.owner, api_name="reference", title="Reference")
    return lineage(published)["attribution"]["contributors"]


def test_reimporting_a_downloaded_adapter_keeps_its_lineage_and_pays_its_contributors(client, job):
    original = model_publish_from_job(job=job, user=job.owner, api_name="sums", title="Sums")
    client.force_login(job.owner)
    downloaded = client.get(f"/finetune/jobs/{job.pk}/adapter.zip").content
    taker = make_user("taker")

    copy = import_as(client, taker, "my-sums", downloaded, job.base_model)

    assert (copy.origin_job, copy.origin_match) == (job, "files")
    paid_original = receipt_record(published=original, tokens_in=400, tokens_out=300)
    paid_copy = receipt_record(published=copy, tokens_in=400, tokens_out=300)
    assert paid_copy.datanet_versions == paid_original.datanet_versions
    assert paid_copy.attribution["contributors"] == paid_original.attribution["contributors"]
    assert paid_copy.split["by_account"] == paid_original.split["by_account"]  # the developer too
    assert person_key(taker.pk) not in paid_copy.split["by_account"]
    assert "a copy of an adapter trained here" in client.get("/models/my-sums/").content.decode()


def test_rescaled_and_noised_weights_of_an_unpublished_job_do_not_strip_its_lineage(client, job, tmp_path):
    pairs, config = read_pairs(adapter_directory(job))
    hidden = write_adapter(
        tmp_path / "hidden",
        disguised(pairs, scale=5.0, noise=0.05, seed=7),
        rank=config["r"],
        alpha=2 * config["lora_alpha"],
    )

    copy = import_as(client, make_user("taker"), "not-a-copy", zipped(hidden), job.base_model)

    assert (copy.origin_job, copy.origin_match) == (job, "weights")
    assert lineage(copy)["attribution"]["contributors"] == lineage_of_job(job)
    receipt = receipt_record(published=copy, tokens_in=400, tokens_out=300)
    assert receipt.split["roles"]["contributors"] > 0
    assert "origin" in receipt.adapters[0]


def test_an_import_with_no_known_origin_says_so_on_its_page_and_its_receipts(client, job, tmp_path):
    stranger = write_adapter(
        tmp_path / "stranger",
        random_pairs(served_module_shapes(job.base_model.source), rank=4, seed=11),
        rank=4,
        alpha=8,
    )

    imported = import_as(client, make_user("importer"), "from-elsewhere", zipped(stranger), job.base_model)

    assert imported.origin_job is None
    assert ORIGIN_UNKNOWN in client.get("/models/from-elsewhere/").content.decode()
    receipt = receipt_record(published=imported, tokens_in=100, tokens_out=100)
    assert receipt.adapters[0]["origin"] == ORIGIN_UNKNOWN
    assert receipt.split["roles"]["contributors"] == 0
    assert ORIGIN_UNKNOWN in client.get(f"/receipts/{receipt.receipt_id}/").content.decode()
