"""How an answer's fee is split: by role, then the contributors' part by their weights and the
developer's part by who trained each adapter behind the answer.

The split is the ledger's alone: it is written with the receipt from lineage, and written again by
the attribution worker from its evidence (until the receipt settles), both through `receipt_split`.
Fees use `contracts.fee_split`, so the split always adds up to the fee in integer base units.

Who is paid: attribution names contributors by the wallet their rows were contributed under (or, for
rows contributed with no wallet, by their person key), but the money is owed to people: the split pays
every person here under ``person:<id>`` (`ledger.payees`), and settlement pays that person's proven
wallet, or holds the share until they have one. A missing wallet therefore never breaks an answer, and
an address nobody holds never receives anyone's earnings. The developer's part goes to whoever trained
the adapter (for an imported copy, the original's developer), split by merge weight for a composite.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from fractions import Fraction

from django.conf import settings
from django.db.models import Count
from eth_utils import is_hex_address

from contracts.fee_split import Parties, SplitShares, account_key, split_fee
from datanets.models import Row
from modelfactory.catalog.models import PublishedModel
from modelfactory.catalog.selectors import adapter_parts
from modelfactory.ledger.payees import person_key, person_of


def split_shares() -> SplitShares:
    return SplitShares(**settings.MODELFACTORY_FEE_SHARES)


def _people_of(keys: list[str], known: Mapping[str, int]) -> dict[str, int]:
    """The person behind each contributor key: from the receipt's lineage, a person key itself, or the
    person who contributed rows under that wallet (the most rows wins; attribution evidence can name
    rows outside the training set, e.g. a version's held-out rows)."""
    found = {key: int(known[key]) for key in keys if key in known}
    for key in keys:
        if key not in found and (person := person_of(key)) is not None:
            found[key] = person
    wallets = [key for key in keys if key not in found and is_hex_address(key)]
    if wallets:
        counts = (
            Row.objects.filter(wallet_address__in=wallets)
            .values("wallet_address", "contributor_id")
            .annotate(rows=Count("id"))
            .order_by("wallet_address", "-rows", "contributor_id")
        )
        for entry in counts:
            found.setdefault(entry["wallet_address"], entry["contributor_id"])
    return found


def developer_weights(parts: list[tuple[PublishedModel, Fraction]]) -> dict[str, Fraction]:
    """Who is paid the developer's part, by person key: whoever trained each adapter behind the answer
    (for an imported copy, the original's developer, not the importer), by merge weight; nobody for a
    base model, which has no parts (the platform takes it)."""
    weights: dict[str, Fraction] = defaultdict(Fraction)
    for adapter, weight in parts:
        source = adapter.lineage_job
        developer_id = source.owner_id if source is not None and adapter.origin_job_id else adapter.owner_id
        if developer_id is not None and weight:
            weights[person_key(developer_id)] += weight
    return dict(weights)


def receipt_split(
    *,
    published: PublishedModel,
    fee: int,
    contributors: Mapping[str, float],
    people: Mapping[str, int] | None = None,
    parts: list[tuple[PublishedModel, Fraction]] | None = None,
) -> dict:
    """The fee split by role and by account, contributors weighted as given (weights summing to 1).

    People are paid under their person key (`ledger.payees`), whatever wallet they have: settlement
    decides the wallet. A contributor key that is no person here is paid as the address it is; one that is
    neither (nothing to pay) leaves its weight to the others, or to the platform when it is alone.
    `parts` are the adapters behind the answer when the caller has them already (`adapter_parts` otherwise).
    """
    owners = _people_of(list(contributors), people or {})
    payees: dict[str, Fraction] = defaultdict(Fraction)
    for key, weight in contributors.items():
        if key in owners:
            payees[person_key(owners[key])] += Fraction(weight).limit_denominator(10**9)
        elif is_hex_address(key):
            payees[key] += Fraction(weight).limit_denominator(10**9)
    platform = settings.MODELFACTORY_PLATFORM_WALLET
    split = split_fee(
        fee,
        shares=split_shares(),
        contributor_weights=dict(payees),
        developer_weights=developer_weights(adapter_parts(published) if parts is None else parts) or None,
    )
    parties = Parties(
        developer=platform,
        base_model_owner=platform,
        compute_operator=settings.MODELFACTORY_OPERATOR_WALLET,
        platform=platform,
    )
    return {
        "roles": {
            "developer": split.developer,
            "contributors": sum(split.contributors.values()),
            "base_model_owner": split.base_model_owner,
            "compute_operator": split.compute_operator,
            "platform": split.platform,
        },
        "by_account": split.by_account(parties),
        "contributors": {account_key(key): amount for key, amount in split.contributors.items()},
        "developers": split.developers,
    }
