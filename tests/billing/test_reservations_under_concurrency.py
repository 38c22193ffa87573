"""Reservations under real concurrency on PostgreSQL: threads with their own connections race to hold,
charge, release and deposit, and the balance never goes below zero nor pays out more than was paid in.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from modelfactory.billing.errors import InsufficientBalance, ReservationClosed
from modelfactory.billing.models import Balance, JournalEntry, Reservation
from modelfactory.billing.selectors import journal_totals
from modelfactory.billing.services import EFFECT, reservation_open, reservation_release, reservation_settle
from tests.support.factories import make_user
from tests.support.funding import fake_tx_hash, fund

pytestmark = pytest.mark.django_db(transaction=True)

# One step of a thread: hold `amount` and end it ("settle" at fee_percent of it, or "release"), each
# reservation also raced by a rival thread that tries to release it; or credit a deposit of `amount`.
step = st.tuples(
    st.sampled_from(["settle", "settle", "release", "deposit"]), st.integers(1, 20), st.integers(0, 100)
)


@dataclass
class Run:
    opened: list[int] = field(default_factory=list)
    refused: int = 0
    settled: int = 0
    released: int = 0
    rival_released: int = 0
    lost_races: int = 0
    errors: list[BaseException] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _in_thread(run: Run, barrier: threading.Barrier, work) -> threading.Thread:
    def target() -> None:
        try:
            barrier.wait()
            work()
        except BaseException as error:  # reported by the test, not lost in the thread
            run.errors.append(error)
        finally:
            connection.close()

    return threading.Thread(target=target)


def _answers(user, steps, run: Run, rivals: queue.Queue, receipt_with_fee) -> None:
    for action, amount, fee_percent in steps:
        if action == "deposit":
            fund(user, amount)
            continue
        try:
            reservation = reservation_open(user=user, amount=amount)
        except InsufficientBalance:
            with run.lock:
                run.refused += 1
            continue
        with run.lock:
            run.opened.append(reservation.pk)
        rivals.put(Reservation.objects.get(pk=reservation.pk))  # the rival gets its own copy
        try:
            if action == "settle":
                fee = amount * fee_percent // 100
                with transaction.atomic():  # as an answer does: the receipt and its charge, or neither
                    receipt = receipt_with_fee(user, fee) if fee else None
                    reservation_settle(reservation=reservation, fee=fee, receipt=receipt)
                with run.lock:
                    run.settled += 1
            elif reservation_release(reservation=reservation):
                with run.lock:
                    run.released += 1
            else:
                with run.lock:
                    run.lost_races += 1
        except ReservationClosed:
            with run.lock:
                run.lost_races += 1


def _rival(rivals: queue.Queue, run: Run) -> None:
    while (reservation := rivals.get()) is not None:
        if reservation_release(reservation=reservation):
            with run.lock:
                run.rival_released += 1


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(first_deposit=st.integers(0, 60), plans=st.lists(st.lists(step, max_size=6), min_size=2, max_size=4))
def test_random_interleavings_never_overspend_and_close_every_reservation_once(
    receipt_with_fee, first_deposit, plans
):
    user = make_user()
    if first_deposit:
        fund(user, first_deposit)
    run, rivals = Run(), queue.Queue()
    barrier = threading.Barrier(len(plans) + 1)
    workers = [
        _in_thread(run, barrier, lambda s=s: _answers(user, s, run, rivals, receipt_with_fee)) for s in plans
    ]
    rival = _in_thread(run, barrier, lambda: _rival(rivals, run))
    for thread in [*workers, rival]:
        thread.start()
    for thread in workers:
        thread.join(60)
    rivals.put(None)
    rival.join(60)
    assert run.errors == []
    event(f"some reservations refused: {run.refused > 0}")  # --hypothesis-show-statistics: races happen
    event(f"some closes lost to the rival: {run.lost_races > 0}")

    balance = Balance.objects.get(user=user) if Balance.objects.filter(user=user).exists() else Balance()
    totals = journal_totals(user)
    # Never below zero, nothing still held, and what is left is exactly what came in less what was charged.
    assert balance.available >= 0
    assert balance.reserved == 0
    assert totals.charged <= totals.deposited
    assert balance.available == totals.deposited - totals.charged
    # Every reservation closed exactly once: by its answer or by the rival, never both.
    assert run.settled + run.released + run.rival_released == len(run.opened)
    assert run.lost_races == run.rival_released
    for reservation in Reservation.objects.filter(user=user).prefetch_related("entries"):
        assert reservation.status != "open"
        closing = [entry for entry in reservation.entries.all() if entry.kind != "reservation"]
        assert sum(entry.amount for entry in closing) == reservation.amount
        assert len({entry.kind for entry in closing}) == len(closing)
    # The journal replays to the balances it recorded, in the order the lock let the writers through.
    available = reserved = 0
    for entry in JournalEntry.objects.filter(user=user).order_by("id"):
        per_available, per_reserved = EFFECT[entry.kind]
        available += per_available * entry.amount
        reserved += per_reserved * entry.amount
        assert (entry.available_after, entry.reserved_after) == (available, reserved)


def test_a_reservation_released_by_two_threads_at_once_is_given_back_once():
    user = make_user()
    fund(user, 10)
    reservation = reservation_open(user=user, amount=10)
    results: list[bool] = []
    run = Run()
    barrier = threading.Barrier(6)

    def release() -> None:
        results.append(reservation_release(reservation=Reservation.objects.get(pk=reservation.pk)))

    threads = [_in_thread(run, barrier, release) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert run.errors == []
    assert sorted(results) == [False] * 5 + [True]
    assert Balance.objects.get(user=user).available == 10


def test_many_threads_holding_more_than_the_balance_at_once_get_only_what_it_covers():
    user = make_user()
    fund(user, 35)
    run = Run()
    barrier = threading.Barrier(16)

    def hold() -> None:
        try:
            reservation = reservation_open(user=user, amount=10)
            with run.lock:
                run.opened.append(reservation.pk)
        except InsufficientBalance:
            with run.lock:
                run.refused += 1

    threads = [_in_thread(run, barrier, hold) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert run.errors == []
    assert (len(run.opened), run.refused) == (3, 13)
    balance = Balance.objects.get(user=user)
    assert (balance.available, balance.reserved) == (5, 30)


def test_deposits_credited_concurrently_to_two_users_for_one_event_count_once():
    first, second = make_user(), make_user()
    tx = fake_tx_hash()
    from modelfactory.billing.services import deposit_credit

    results: list[bool] = []
    run = Run()
    barrier = threading.Barrier(6)
    users = [first, second] * 3

    def credit(user) -> None:
        results.append(deposit_credit(user=user, amount=7, tx_hash=tx, log_index=1, block_number=1))

    threads = [_in_thread(run, barrier, lambda u=u: credit(u)) for u in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert run.errors == []
    assert sorted(results) == [False] * 5 + [True]
    assert JournalEntry.objects.filter(kind="deposit", tx_hash=tx).count() == 1
