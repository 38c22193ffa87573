"""Settlement and registration sign as the operator one process at a time: a second run while one holds
the lease does nothing (no epoch closed twice, no nonce race), and a lease whose process died frees."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from modelfactory.ledger.chain_writer_lease_services import ChainWriterBusy, chain_writer_lease, lease_renew
from modelfactory.ledger.models import ChainWriterLease, Epoch, InferenceReceipt
from modelfactory.ledger.services import epoch_close_and_commit
from tests.ledger.test_settlement_outage import answer
from tests.support.factories import make_user
from tests.support.funding import fund

pytestmark = pytest.mark.django_db


def test_a_settlement_run_while_another_holds_the_lease_closes_and_sends_nothing(settings, base_model):
    settings.LEDGER_EPOCH_MAX_RECEIPTS = 1  # an epoch is due
    settings.CHAIN_RPC_URL = "http://127.0.0.1:9"  # had this run sent anything, it would say ChainUnavailable
    payer = make_user("payer")
    fund(payer)
    answer(base_model, payer, 2)

    with chain_writer_lease() as other:
        skipped = epoch_close_and_commit()
        unsettled_while_busy = InferenceReceipt.objects.filter(epoch__isnull=True).count()
        assert lease_renew("operator", other)
    after = epoch_close_and_commit()

    assert skipped.error.startswith("ChainWriterBusy")
    assert skipped.closed is None
    assert skipped.committed == []
    assert unsettled_while_busy == 2  # untouched while the other run holds the lease
    assert after.closed == 1
    assert "ChainUnavailable" in after.error
    assert Epoch.objects.get(number=1).status == Epoch.Status.OPEN


def test_a_lease_frees_when_its_holder_leaves_or_dies():
    with chain_writer_lease(), pytest.raises(ChainWriterBusy, match="waits for the next tick"):
        chain_writer_lease().__enter__()
    with chain_writer_lease():  # released on exit
        ChainWriterLease.objects.filter(name="operator").update(expires=timezone.now() - timedelta(seconds=1))
        with chain_writer_lease() as taker:  # the first holder "died": its lease expired
            assert ChainWriterLease.objects.get(name="operator").holder == taker
