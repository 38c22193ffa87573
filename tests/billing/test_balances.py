"""A user's prepaid balance: deposits credited once, answers held, charged or released once, withdrawals."""

from __future__ import annotations

import threading
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from modelfactory.billing.base_units_field import BaseUnitsField
from modelfactory.billing.errors import ChargeRefused, InsufficientBalance, InvalidAmount, ReservationClosed
from modelfactory.billing.models import Balance, JournalEntry, Reservation
from modelfactory.billing.selectors import (
    balance_of,
    charged_in_epoch,
    charges_in,
    deposit_credited,
    journal_of,
    journal_totals,
    receipts_uncharged,
)
from modelfactory.billing.services import (
    deposit_credit,
    reservation_open,
    reservation_release,
    reservation_settle,
    reservations_release_stale,
    withdrawal_refund,
    withdrawal_reserve,
)
from tests.support.factories import make_user
from tests.support.funding import OPEN, fake_tx_hash, fund

pytestmark = pytest.mark.django_db


def test_a_deposit_event_replayed_by_the_watcher_is_credited_once():
    user = make_user()
    tx = fake_tx_hash()

    assert deposit_credit(user=user, amount=5 * OPEN, tx_hash=tx, log_index=3, block_number=10) is True
    assert (
        deposit_credit(
            user=user, amount=5 * OPEN, tx_hash=tx.upper().replace("0X", "0x"), log_index=3, block_number=10
        )
        is False
    )
    assert deposit_credit(user=user, amount=2 * OPEN, tx_hash=tx, log_index=4, block_number=10) is True

    assert balance_of(user).available == 7 * OPEN
    assert deposit_credited(tx_hash=tx, log_index=3)
    assert [entry.kind for entry in journal_of(user)] == ["deposit", "deposit"]


def test_the_same_deposit_event_cannot_be_credited_to_another_user_either():
    first, second = make_user(), make_user()
    tx = fake_tx_hash()
    deposit_credit(user=first, amount=OPEN, tx_hash=tx, log_index=0, block_number=1)

    assert deposit_credit(user=second, amount=OPEN, tx_hash=tx, log_index=0, block_number=1) is False
    assert balance_of(second).available == 0


def test_the_database_itself_refuses_a_second_entry_for_one_deposit_event():
    user = make_user()
    tx = fake_tx_hash()
    deposit_credit(user=user, amount=OPEN, tx_hash=tx, log_index=0, block_number=1)

    with pytest.raises(IntegrityError), transaction.atomic():
        JournalEntry.objects.create(
            user=user,
            kind="deposit",
            amount=OPEN,
            available_after=2 * OPEN,
            reserved_after=0,
            tx_hash=tx,
            log_index=0,
        )


@pytest.mark.parametrize("amount", [0, -1, 1.5, True, "5"])
def test_a_deposit_of_nothing_or_of_something_else_than_base_units_is_refused(amount):
    with pytest.raises(InvalidAmount):
        deposit_credit(user=make_user(), amount=amount, tx_hash=fake_tx_hash(), log_index=0, block_number=1)


def test_a_deposit_without_a_real_transaction_hash_is_refused():
    with pytest.raises(InvalidAmount, match="64 hex"):
        deposit_credit(user=make_user(), amount=OPEN, tx_hash="0xabc", log_index=0, block_number=1)


def test_a_reservation_beyond_the_available_balance_is_refused_saying_what_it_needs_and_where_to_deposit():
    user = make_user()
    fund(user, 3 * OPEN)
    reservation_open(user=user, amount=2 * OPEN)

    with pytest.raises(InsufficientBalance) as refused:
        reservation_open(user=user, amount=2 * OPEN)

    assert (refused.value.available, refused.value.reserved, refused.value.needed) == (
        OPEN,
        2 * OPEN,
        2 * OPEN,
    )
    assert "up to 2 OPEN" in str(refused.value)
    assert "1 OPEN available" in str(refused.value)
    assert "/wallet/" in str(refused.value)
    assert balance_of(user) == balance_of(user).__class__(available=OPEN, reserved=2 * OPEN)


def test_a_user_who_never_deposited_can_reserve_nothing():
    with pytest.raises(InsufficientBalance):
        reservation_open(user=make_user(), amount=1)


def test_settling_charges_the_receipts_fee_and_gives_back_the_rest(receipt_with_fee):
    user = make_user()
    fund(user, 10 * OPEN)
    reservation = reservation_open(user=user, amount=4 * OPEN, model_name="tiny-base")
    receipt = receipt_with_fee(user, OPEN)

    reservation_settle(reservation=reservation, fee=OPEN, receipt=receipt)

    assert balance_of(user).available == 9 * OPEN
    assert balance_of(user).reserved == 0
    reservation.refresh_from_db()
    assert (reservation.status, reservation.charged, reservation.receipt) == ("settled", OPEN, receipt)
    kinds = [(entry.kind, entry.amount) for entry in journal_of(user)]
    assert kinds == [
        ("release", 3 * OPEN),
        ("charge", OPEN),
        ("reservation", 4 * OPEN),
        ("deposit", 10 * OPEN),
    ]
    assert charges_in([receipt]) == OPEN


def test_a_reservation_closes_once_so_nothing_is_released_twice(receipt_with_fee):
    user = make_user()
    fund(user, 10 * OPEN)
    settled = reservation_open(user=user, amount=2 * OPEN)
    reservation_settle(reservation=settled, fee=OPEN, receipt=receipt_with_fee(user, OPEN))
    released = reservation_open(user=user, amount=2 * OPEN)
    assert reservation_release(reservation=released) is True

    with pytest.raises(ReservationClosed):
        reservation_settle(reservation=settled, fee=OPEN, receipt=receipt_with_fee(user, OPEN))
    with pytest.raises(ReservationClosed):
        reservation_settle(reservation=released, fee=0)
    assert reservation_release(reservation=settled) is False
    assert reservation_release(reservation=released) is False

    assert balance_of(user).available == 9 * OPEN
    assert balance_of(user).reserved == 0


def test_a_stale_copy_of_a_reservation_cannot_close_it_again():
    user = make_user()
    fund(user, OPEN)
    reservation = reservation_open(user=user, amount=OPEN)
    stale_copy = Reservation.objects.get(pk=reservation.pk)
    reservation_release(reservation=reservation)

    assert reservation_release(reservation=stale_copy) is False
    assert balance_of(user).available == OPEN


def test_the_database_itself_refuses_a_second_release_of_one_reservation():
    user = make_user()
    fund(user, OPEN)
    reservation = reservation_open(user=user, amount=OPEN)
    reservation_release(reservation=reservation)

    with pytest.raises(IntegrityError), transaction.atomic():
        JournalEntry.objects.create(
            user=user,
            kind="release",
            amount=OPEN,
            available_after=2 * OPEN,
            reserved_after=0,
            reservation=reservation,
        )


def test_a_charge_above_what_was_held_is_refused_and_changes_nothing(receipt_with_fee):
    user = make_user()
    fund(user, 10 * OPEN)
    reservation = reservation_open(user=user, amount=OPEN)

    with pytest.raises(ChargeRefused, match="exceeds"):
        reservation_settle(reservation=reservation, fee=2 * OPEN, receipt=receipt_with_fee(user, 2 * OPEN))

    assert Reservation.objects.get(pk=reservation.pk).status == "open"
    assert balance_of(user).available == 9 * OPEN


def test_a_charge_must_name_a_receipt_of_the_same_user_and_fee(receipt_with_fee):
    user, other = make_user(), make_user()
    fund(user, 10 * OPEN)
    reservation = reservation_open(user=user, amount=OPEN)

    with pytest.raises(ChargeRefused, match="needs the receipt"):
        reservation_settle(reservation=reservation, fee=10)
    with pytest.raises(ChargeRefused, match="not this answer"):
        reservation_settle(reservation=reservation, fee=10, receipt=receipt_with_fee(other, 10))
    with pytest.raises(ChargeRefused, match="not this answer"):
        reservation_settle(reservation=reservation, fee=10, receipt=receipt_with_fee(user, 11))


def test_one_receipt_cannot_be_charged_through_two_reservations(receipt_with_fee):
    user = make_user()
    fund(user, 10 * OPEN)
    receipt = receipt_with_fee(user, 10)
    reservation_settle(reservation=reservation_open(user=user, amount=OPEN), fee=10, receipt=receipt)

    with pytest.raises(IntegrityError), transaction.atomic():
        reservation_settle(reservation=reservation_open(user=user, amount=OPEN), fee=10, receipt=receipt)


def test_the_database_refuses_a_negative_balance():
    user = make_user()
    fund(user, OPEN)

    with pytest.raises(IntegrityError), transaction.atomic():
        Balance.objects.filter(user=user).update(available=-1)


def test_a_withdrawal_takes_from_the_available_balance_and_is_refunded_at_most_once():
    user = make_user()
    fund(user, 5 * OPEN)
    reservation_open(user=user, amount=2 * OPEN)

    with pytest.raises(InsufficientBalance, match="this withdrawal"):
        withdrawal_reserve(user=user, amount=4 * OPEN)
    withdrawal = withdrawal_reserve(user=user, amount=3 * OPEN, reference="voucher-7")
    assert balance_of(user).available == 0

    refund = withdrawal_refund(withdrawal)
    assert withdrawal_refund(withdrawal) == refund
    assert balance_of(user).available == 3 * OPEN
    with pytest.raises(InvalidAmount):
        withdrawal_refund(refund)


def test_reservations_of_answers_whose_process_died_are_released_after_an_hour():
    user = make_user()
    fund(user, 3 * OPEN)
    old = reservation_open(user=user, amount=OPEN)
    recent = reservation_open(user=user, amount=OPEN)
    Reservation.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(hours=2))

    assert reservations_release_stale() == 1

    assert Reservation.objects.get(pk=old.pk).status == "released"
    assert Reservation.objects.get(pk=recent.pk).status == "open"
    assert balance_of(user).available == 2 * OPEN


def test_the_journal_adds_up_to_the_balance(receipt_with_fee):
    user = make_user()
    fund(user, 10 * OPEN)
    reservation_settle(
        reservation=reservation_open(user=user, amount=OPEN), fee=7, receipt=receipt_with_fee(user, 7)
    )
    reservation_release(reservation=reservation_open(user=user, amount=OPEN))
    withdrawal_reserve(user=user, amount=2 * OPEN)
    reservation_open(user=user, amount=OPEN)

    totals = journal_totals(user)

    assert totals.deposited - totals.charged - totals.withdrawn + totals.refunded == balance_of(user).total
    assert (totals.available_expected, totals.reserved_expected) == (
        balance_of(user).available,
        balance_of(user).reserved,
    )
    assert balance_of(user).total == 8 * OPEN - 7


def test_an_epoch_knows_what_was_charged_for_its_receipts_and_which_receipts_nobody_paid(receipt_with_fee):
    user = make_user()
    fund(user, 10 * OPEN)
    paid = [receipt_with_fee(user, fee) for fee in (5, 7)]
    for receipt in paid:
        reservation_settle(
            reservation=reservation_open(user=user, amount=OPEN), fee=int(receipt.fee), receipt=receipt
        )
    unpaid, free = receipt_with_fee(user, 9), receipt_with_fee(user, 0)
    for receipt in [*paid, unpaid, free]:
        receipt.epoch = 4
        receipt.save(update_fields=["epoch"])

    assert charged_in_epoch(4) == 12
    assert charged_in_epoch(5) == 0
    assert receipts_uncharged([*paid, unpaid, free]) == [unpaid]


def test_amounts_beyond_64_bits_are_exact_to_the_base_unit():
    user = make_user()
    fund(user, 10**6 * OPEN + 1)
    reservation_open(user=user, amount=OPEN + 1)

    assert balance_of(user).available == 10**6 * OPEN - OPEN
    assert Balance.objects.get(user=user).available == 999_999 * OPEN


def test_on_sqlite_amounts_are_stored_as_their_digits_not_as_15_digit_floats():
    field, sqlite = BaseUnitsField(), SimpleNamespace(vendor="sqlite")
    huge = 10**21 + 1

    assert field.db_type(sqlite) == "text"
    assert field.get_db_prep_value(huge, sqlite) == "1000000000000000000001"
    assert field.from_db_value("1000000000000000000001", None, sqlite) == huge
    assert field.db_type(connection) == ("text" if connection.vendor == "sqlite" else "numeric(78, 0)")


@pytest.mark.django_db(transaction=True)
def test_the_same_deposit_credited_by_two_watchers_at_once_is_credited_once():
    user = make_user()
    tx = fake_tx_hash()
    barrier = threading.Barrier(4)
    results: list[bool] = []

    def credit() -> None:
        try:
            barrier.wait()
            results.append(deposit_credit(user=user, amount=OPEN, tx_hash=tx, log_index=0, block_number=1))
        finally:
            connection.close()

    threads = [threading.Thread(target=credit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [False, False, False, True]
    assert balance_of(user).available == OPEN


def test_beat_releases_the_holds_of_answers_that_never_ended():
    from modelfactory.billing.tasks import release_stale_reservations
    from modelfactory.celery import app

    user = make_user()
    fund(user, OPEN)
    held = reservation_open(user=user, amount=OPEN)
    Reservation.objects.filter(pk=held.pk).update(created=timezone.now() - timedelta(days=1))

    assert release_stale_reservations() == 1
    assert balance_of(user).available == OPEN
    scheduled = app.conf.beat_schedule["release-stale-reservations"]
    assert scheduled["task"] == release_stale_reservations.name
