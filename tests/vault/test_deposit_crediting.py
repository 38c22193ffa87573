"""Deposits are credited from the vault's events: once each, after their confirmations, to the owner of
the account paid into (whoever sent it), through restarts, replays, two watchers and a node that goes away."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from django.db import connection

from contracts.development_accounts import ANVIL_KEYS, DEVELOPMENT_DEPOSITOR_KEY, address_of
from contracts.records import record_id
from modelfactory.billing.models import JournalEntry
from modelfactory.billing.selectors import balance_of, journal_totals
from modelfactory.ledger.tasks import watch_vault
from modelfactory.vault.account_services import account_id_bytes, vault_account_get_or_create
from modelfactory.vault.deposit_services import vault_events_sync
from modelfactory.vault.models import ChainCursor, UnassignedDeposit
from modelfactory.vault.watch import vault_watch
from tests.ledger.conftest import OPEN, deploy
from tests.support.anvil_node import running_anvil
from tests.support.factories import make_user
from tests.support.paid_answers import vault_deposit
from tests.support.services import free_port

pytestmark = pytest.mark.django_db


def mine(client, blocks: int) -> None:
    """anvil mines only when something is sent: mine empty blocks, as time would on a real chain."""
    client.web3.provider.make_request("anvil_mine", [hex(blocks)])


def test_a_confirmed_deposit_is_credited_once_to_the_accounts_owner_whoever_sent_it(chain):
    alice = make_user("alice")
    stranger_key = ANVIL_KEYS[7]  # a wallet that is nobody's here pays into Alice's account

    result = vault_deposit(chain, user=alice, amount=25 * OPEN, sender_key=stranger_key, credit=False)
    run = vault_events_sync(client=chain)

    [event] = result.events_named("Deposited")
    assert run.credited == [(event.tx_hash, event.log_index)]
    assert balance_of(alice).available == 25 * OPEN
    [entry] = JournalEntry.objects.filter(user=alice, kind=JournalEntry.Kind.DEPOSIT)
    assert (entry.tx_hash, entry.log_index, entry.block_number) == (
        event.tx_hash.lower(),
        event.log_index,
        result.block_number,
    )
    assert chain.vault_balance(account_id_bytes(alice.vault_account)) == 25 * OPEN
    assert vault_events_sync(client=chain).credited == [], "a second run finds nothing new"


def test_a_deposit_is_credited_only_once_its_block_has_the_confirmations(chain):
    alice = make_user("alice")
    vault_deposit(chain, user=alice, amount=OPEN, credit=False)

    assert vault_events_sync(client=chain, confirmations=3).credited == []
    assert balance_of(alice).available == 0
    mine(chain, 1)
    assert vault_events_sync(client=chain, confirmations=3).credited == []
    mine(chain, 1)
    assert len(vault_events_sync(client=chain, confirmations=3).credited) == 1
    assert balance_of(alice).available == OPEN


def test_replayed_events_credit_nothing_twice(chain):
    alice, bob = make_user("alice"), make_user("bob")
    for user, amount in ((alice, 3 * OPEN), (bob, 5 * OPEN), (alice, 7 * OPEN)):
        vault_deposit(chain, user=user, amount=amount)

    ChainCursor.objects.update(next_block=0)  # as if the cursor were lost: read everything again
    replay = vault_events_sync(client=chain, blocks_per_read=3)

    assert (replay.credited, replay.replayed) == ([], 3)
    assert (balance_of(alice).available, balance_of(bob).available) == (10 * OPEN, 5 * OPEN)
    assert journal_totals(alice).deposited == 10 * OPEN


@pytest.mark.django_db(transaction=True)
def test_two_watchers_at_once_credit_each_deposit_once(chain):
    users = [make_user(f"payer{i}") for i in range(4)]
    for index, user in enumerate(users):
        vault_deposit(chain, user=user, amount=(index + 1) * OPEN, credit=False)
    errors: list[BaseException] = []

    def watcher() -> None:
        try:
            vault_events_sync(client=chain, blocks_per_read=2)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=watcher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert [balance_of(user).available for user in users] == [1 * OPEN, 2 * OPEN, 3 * OPEN, 4 * OPEN]
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.DEPOSIT).count() == 4


def test_a_deposit_into_no_ones_account_is_held_for_staff_and_credits_nobody(chain, client):
    nobody = record_id("vault-account", "typo")
    chain.mint(to=address_of(DEVELOPMENT_DEPOSITOR_KEY), amount=2 * OPEN)
    result = chain.deposit(account_id=nobody, amount=2 * OPEN, sender_key=DEVELOPMENT_DEPOSITOR_KEY)

    first = vault_events_sync(client=chain)
    ChainCursor.objects.update(next_block=0)
    replay = vault_events_sync(client=chain)

    assert (first.unassigned, replay.unassigned) == (1, 0)
    [held] = UnassignedDeposit.objects.all()
    assert (held.depositor, held.amount, held.tx_hash) == (
        address_of(DEVELOPMENT_DEPOSITOR_KEY),
        2 * OPEN,
        result.tx_hash.lower(),
    )
    assert not JournalEntry.objects.filter(kind=JournalEntry.Kind.DEPOSIT).exists()
    staff, someone = make_user("staffer"), make_user("someone")
    staff.is_staff = True
    staff.save()
    client.force_login(someone)
    assert held.depositor not in client.get("/wallet/").content.decode()
    client.force_login(staff)
    assert held.depositor in client.get("/wallet/").content.decode()


def test_deposits_made_before_and_after_an_outage_are_each_credited_once(settings, tmp_path):
    """The node goes away mid-way through crediting: the watcher waits, loses nothing, and on recovery
    goes on from its cursor in the database, crediting nothing twice."""
    port, state = free_port(), tmp_path / "chain-state.json"
    settings.CHAIN_RPC_URL = f"http://127.0.0.1:{port}"
    alice, bob = make_user("alice"), make_user("bob")

    with running_anvil(port, log=tmp_path / "anvil-1.log", state_file=state):
        client = deploy(settings.CHAIN_RPC_URL, Path(settings.VAR_DIR))
        vault_deposit(client, user=alice, amount=OPEN, credit=False)
        vault_deposit(client, user=bob, amount=2 * OPEN, credit=False)
        vault_deposit(client, user=alice, amount=4 * OPEN, credit=False)
        # The watcher is stopped after reading part of the chain (one small range).
        partial = vault_events_sync(client=client, blocks_per_read=2, reads=1)
    cursor_before = ChainCursor.objects.get().next_block

    down = watch_vault()  # the beat task, with the node gone

    assert "ChainUnavailable" in down["error"]
    assert ChainCursor.objects.get().next_block == cursor_before
    with running_anvil(port, log=tmp_path / "anvil-2.log", state_file=state):
        client = deploy(settings.CHAIN_RPC_URL, Path(settings.VAR_DIR))
        vault_deposit(client, user=bob, amount=8 * OPEN, credit=False)
        recovered = watch_vault()
        again = vault_watch()

    assert len(partial.credited) < 3, "the first run stopped part way"
    assert recovered["error"] == ""
    assert len(partial.credited) + recovered["credited"] == 4
    assert (again.events.credited, again.error) == ([], "")
    assert (balance_of(alice).available, balance_of(bob).available) == (5 * OPEN, 10 * OPEN)
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.DEPOSIT).count() == 4


def test_a_users_vault_account_is_random_and_stable(chain):
    alice = make_user("alice")
    first = vault_account_get_or_create(user=alice)
    assert vault_account_get_or_create(user=alice) == first
    assert first.account_id != vault_account_get_or_create(user=make_user("bob")).account_id
    assert len(account_id_bytes(first)) == 32
