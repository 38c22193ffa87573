"""The balance panel any page can include: what is available, what is held, and the journal behind it."""

from __future__ import annotations

import pytest
from django.template import Context, Template

from modelfactory.billing.services import reservation_open, reservation_settle
from tests.support.factories import make_user
from tests.support.funding import OPEN, fund

pytestmark = pytest.mark.django_db

PANEL = Template("{% load billing_tags %}{% balance_panel user %}")


def test_the_panel_shows_the_balance_the_held_amount_and_every_entry_with_what_it_refers_to(receipt_with_fee):
    user = make_user()
    fund(user, 3 * OPEN)
    receipt = receipt_with_fee(user, OPEN // 2)
    reservation_settle(
        reservation=reservation_open(user=user, amount=OPEN, model_name="tiny-base"),
        fee=OPEN // 2,
        receipt=receipt,
    )
    reservation_open(user=user, amount=OPEN, model_name="tiny-base")

    html = PANEL.render(Context({"user": user}))

    assert 'data-figure="billing-available">1.5</strong>' in html
    assert 'data-figure="billing-reserved">1</span>' in html
    kinds = [line.split('"')[1] for line in html.split("data-kind=")[1:]]
    assert kinds == ["reservation", "release", "charge", "reservation", "deposit"]
    assert f"/receipts/{receipt.receipt_id}/" in html
    assert "Held for an answer · tiny-base" in html


def test_a_user_who_never_deposited_is_told_what_a_deposit_is_for():
    html = PANEL.render(Context({"user": make_user()}))

    assert 'data-figure="billing-available">0</strong>' in html
    assert "Nothing deposited yet" in html
