"""The balance panel any page can include (what is available, what is held, the journal behind it), and
the page a refusal for want of funds becomes."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template

from modelfactory.billing.errors import InsufficientBalance
from modelfactory.billing.services import reservation_open, reservation_settle
from modelfactory.domain_errors import DomainErrorMiddleware
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


def test_a_page_refused_for_want_of_funds_answers_402_saying_where_to_deposit(rf):
    request = rf.get("/")
    request.user = AnonymousUser()
    refusal = InsufficientBalance(available=0, reserved=0, needed=OPEN)

    response = DomainErrorMiddleware(lambda request: None).process_exception(request, refusal)

    assert response.status_code == 402
    assert "Deposit OPEN on your wallet page (/wallet/)" in response.content.decode()
