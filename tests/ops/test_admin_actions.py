"""The admin as an operator's console: operational rows are read-only, and its actions go through services."""

from __future__ import annotations

import pytest
from django.urls import reverse

from modelfactory.api.models import ApiKey
from modelfactory.api.services import api_key_create
from modelfactory.catalog.models import BaseModel
from modelfactory.finetuning.models import FineTuneJob
from modelfactory.ledger.models import Epoch
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db


def make_job(owner, status: str, **fields) -> FineTuneJob:
    base, _ = BaseModel.objects.get_or_create(
        name="tiny-base",
        defaults={"source": "/models/tiny", "architecture": "LlamaForCausalLM", "model_type": "llama"},
    )
    return FineTuneJob.objects.create(
        owner=owner, name="sums adapter", base_model=base, spec={"method": "lora"}, status=status, **fields
    )


def act(admin_client, model: str, action: str, rows, **fields):
    return admin_client.post(
        reverse(f"admin:{model}_changelist"),
        {"action": action, "_selected_action": [row.pk for row in rows], **fields},
        follow=True,
    )


def test_revoking_keys_revokes_them_through_the_service(admin_client):
    owner = make_user("key_owner")
    key, _secret = api_key_create(user=owner, name="leaked")
    kept, _ = api_key_create(user=owner, name="kept")

    response = act(admin_client, "api_apikey", "revoke", [key])

    assert response.status_code == 200
    key.refresh_from_db()
    kept.refresh_from_db()
    assert key.revoked is not None
    assert kept.revoked is None
    assert "revoked" in response.content.decode()


def test_requeueing_a_failed_job_resumes_it_as_its_owner_would(
    admin_client, django_capture_on_commit_callbacks
):
    job = make_job(make_user("trainer"), FineTuneJob.Status.FAILED, error="CUDA out of memory", attempts=3)

    with django_capture_on_commit_callbacks(execute=True):
        response = act(admin_client, "finetuning_finetunejob", "requeue", [job])

    job.refresh_from_db()
    assert response.status_code == 200
    assert job.status == FineTuneJob.Status.QUEUED
    assert (job.error, job.attempts) == ("", 0)
    assert job.queued_at is not None  # its task message was sent
    assert "queued on cpu to resume" in response.content.decode()


def test_requeueing_a_queued_job_sends_its_message_again(admin_client):
    job = make_job(make_user("waiting"), FineTuneJob.Status.QUEUED)

    act(admin_client, "finetuning_finetunejob", "requeue", [job])

    job.refresh_from_db()
    assert job.status == FineTuneJob.Status.QUEUED
    assert job.queued_at is not None


def test_requeueing_a_running_job_is_refused_with_the_reason(admin_client):
    job = make_job(make_user("busy"), FineTuneJob.Status.RUNNING, worker="cpu@host")

    response = act(admin_client, "finetuning_finetunejob", "requeue", [job])

    job.refresh_from_db()
    assert job.status == FineTuneJob.Status.RUNNING
    assert "has a worker" in response.content.decode()


def test_failing_a_stuck_job_asks_for_the_reason_first(admin_client):
    job = make_job(make_user("stuck"), FineTuneJob.Status.RUNNING, worker="gpu@lost")

    response = act(admin_client, "finetuning_finetunejob", "fail_with_reason", [job])

    page = response.content.decode()
    assert response.status_code == 200
    assert 'name="reason"' in page
    assert "gpu@lost" in page
    job.refresh_from_db()
    assert job.status == FineTuneJob.Status.RUNNING


def test_failing_a_stuck_job_with_a_reason_frees_it_from_its_worker_and_tells_its_owner(admin_client):
    job = make_job(make_user("stuck2"), FineTuneJob.Status.RUNNING, worker="gpu@lost")
    done = make_job(make_user("done"), FineTuneJob.Status.SUCCEEDED)

    response = act(
        admin_client,
        "finetuning_finetunejob",
        "fail_with_reason",
        [job, done],
        reason="its GPU host was lost",
        apply="1",
    )

    job.refresh_from_db()
    done.refresh_from_db()
    assert job.status == FineTuneJob.Status.FAILED
    assert job.error == "stopped by an operator: its GPU host was lost"
    assert job.worker == ""
    assert job.finished is not None
    assert done.status == FineTuneJob.Status.SUCCEEDED  # an ended job is left as it is, with the reason why
    page = response.content.decode()
    assert "has already ended" in page
    assert "failed by an operator" in page


def test_a_blank_reason_fails_nothing(admin_client):
    job = make_job(make_user("stuck3"), FineTuneJob.Status.QUEUED)

    act(admin_client, "finetuning_finetunejob", "fail_with_reason", [job], reason="   ", apply="1")

    job.refresh_from_db()
    assert job.status == FineTuneJob.Status.QUEUED


@pytest.mark.parametrize(
    "model",
    [
        "api_apikey",
        "api_apifile",
        "finetuning_finetunejob",
        "datanets_upload",
        "ledger_inferencereceipt",
        "ledger_epoch",
        "ledger_payout",
        "ledger_chainregistration",
    ],
)
def test_operational_records_are_listed_and_never_added_or_edited_by_hand(admin_client, model):
    assert admin_client.get(reverse(f"admin:{model}_changelist")).status_code == 200
    assert admin_client.get(reverse(f"admin:{model}_add")).status_code == 403


def test_an_epochs_page_shows_it_read_only(admin_client):
    epoch = Epoch.objects.create(
        number=1, status="open", payouts_root="0x" + "ab" * 32, receipts_root="0x00", total=5, receipt_count=1
    )

    page = admin_client.get(reverse("admin:ledger_epoch_change", args=[epoch.pk])).content.decode()
    posted = admin_client.post(reverse("admin:ledger_epoch_change", args=[epoch.pk]), {"status": "committed"})

    assert "ab" * 32 in page
    assert 'name="payouts_root"' not in page
    assert posted.status_code == 403
    epoch.refresh_from_db()
    assert epoch.status == "open"


def test_a_keys_secret_hash_is_never_shown(admin_client):
    key, _secret = api_key_create(user=make_user("hashed"), name="k")

    page = admin_client.get(reverse("admin:api_apikey_change", args=[key.pk])).content.decode()

    assert ApiKey.objects.get(pk=key.pk).secret_hash not in page


def test_staff_without_the_change_permission_cannot_run_the_actions(client):
    staff = make_user("viewer")
    staff.is_staff = True
    staff.save()
    from django.contrib.auth.models import Permission

    staff.user_permissions.add(Permission.objects.get(codename="view_apikey"))
    client.force_login(staff)
    key, _ = api_key_create(user=make_user("someone"), name="k")

    page = client.get(reverse("admin:api_apikey_changelist")).content.decode()
    act(client, "api_apikey", "revoke", [key])

    assert 'value="revoke"' not in page
    key.refresh_from_db()
    assert key.revoked is None
