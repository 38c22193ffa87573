"""An answer attributed to a datanet, in the ledger's terms, built as the records it leaves behind.

Producing one for real takes a trained adapter and the attribution worker (tests/attribution does
that); the datanet pages only read what it leaves behind: a receipt that owes a contributor their
share, and the datanet's credit for the answer.
"""

from __future__ import annotations

from datanets.models import Datanet
from modelfactory.accounts.models import User
from modelfactory.attribution.models import DatanetCredit
from modelfactory.catalog.models import BaseModel, PublishedModel
from modelfactory.ledger.models import InferenceReceipt

OPEN = 10**18


def credited_answer(*, datanet: Datanet, contributor: User, amount: int) -> InferenceReceipt:
    """One answer that paid ``contributor`` ``amount`` base units for rows of ``datanet``."""
    base, _ = BaseModel.objects.get_or_create(
        name="tiny-base",
        defaults={"source": "/models/tiny", "architecture": "LlamaForCausalLM", "model_type": "llama"},
    )
    published, _ = PublishedModel.objects.get_or_create(
        api_name=f"{datanet.slug}-bot",
        defaults={"title": "Bot", "kind": PublishedModel.Kind.ADAPTER, "base_model": base},
    )
    receipt = InferenceReceipt.objects.create(
        published_model=published,
        model_name=published.api_name,
        base_model=base.name,
        tokens_in=12,
        tokens_out=30,
        fee=amount,
        split={"by_account": {contributor.wallet_address: amount}, "roles": {"contributors": amount}},
        attribution={"datanets": {datanet.slug: 1.0}, "contributors": {contributor.wallet_address: 1.0}},
    )
    DatanetCredit.objects.create(receipt=receipt, datanet=datanet, weight=1.0, amount=amount)
    return receipt
