"""An answer's attribution through the API hides row and span text of datanets the caller may not read,
exactly as the receipt pages do: asking a question is not a way to read a permissioned datanet."""

from __future__ import annotations

import httpx
import pytest

from modelfactory.api.services import api_key_create
from modelfactory.catalog.models import PublishedModel
from modelfactory.catalog.services import base_model_register
from modelfactory.ledger.models import InferenceReceipt
from modelfactory.serving import engine_runtime
from tests.support.factories import make_datanet, make_rows, make_user
from tests.support.funding import fund
from tests.support.paid_answers import paid_answer

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_attribution_endpoint_hides_text_of_datanets_the_caller_may_not_read(
    live_server, use_tiny_base_model
):
    base_model_register(name="tiny-base", source=str(use_tiny_base_model))
    caller = make_user("caller")
    fund(caller)
    public = make_datanet(slug="open-notes")
    private = make_datanet(owner=make_user("keeper"), slug="closed-notes", permissioned=True)
    (open_row,), (closed_row,) = make_rows(public, 1, prefix="open"), make_rows(private, 1, prefix="closed")
    receipt = paid_answer(
        published=PublishedModel.objects.get(api_name="tiny-base"), user=caller, tokens_in=5, tokens_out=5
    )
    spans = [
        {"text": "open answer zero", "words": 3, "row_ids": [open_row.pk], "datanet": public.slug},
        {"text": "closed answer zero", "words": 3, "row_ids": [closed_row.pk], "datanet": private.slug},
    ]
    rows = [
        {"row_id": open_row.pk, "method": "span", "weight": 0.5, "span": "open answer zero"},
        {"row_id": closed_row.pk, "method": "span", "weight": 0.5, "span": "closed answer zero"},
    ]
    InferenceReceipt.objects.filter(pk=receipt.pk).update(attribution={"rows": rows, "spans": spans})
    secret = api_key_create(user=caller, name="tests")[1]

    body = httpx.get(
        f"{live_server.url}/v1/attribution/{receipt.receipt_id}",
        headers={"Authorization": f"Bearer {secret}", "Connection": "close"},
    ).json()
    engine_runtime.shutdown()

    shown = {row["row_id"]: row["span"] for row in body["attribution"]["rows"]}
    assert shown == {open_row.pk: "open answer zero", closed_row.pk: ""}
    assert [span["text"] for span in body["attribution"]["spans"]] == ["open answer zero", ""]
    assert "closed answer" not in str(body)
