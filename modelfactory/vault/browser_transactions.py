"""The transactions a browser wallet sends to deposit and to withdraw, prepared on the server.

The page's script only asks the wallet (`eth_sendTransaction`) to send what is prepared here: it encodes
nothing itself, so amounts are parsed and checked once, in Python, and the calldata is the same that
`cast send` would take (the page shows that command too, for wallets without a browser extension).
"""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3

from contracts.artifacts import load_artifact
from contracts.chain_client import ChainClient
from modelfactory.vault.account_services import account_id_bytes, vault_account_get_or_create
from modelfactory.vault.models import WithdrawalVoucher
from modelfactory.vault.withdrawal_services import signed_voucher


@dataclass(frozen=True)
class BrowserTransaction:
    label: str
    to: str
    data: str
    cast: str  # the same call as a Foundry `cast send` command line


def deposit_transactions(*, user, amount: int, client: ChainClient) -> list[BrowserTransaction]:
    """Approve the vault for `amount`, then deposit it into the user's vault account (created now if this
    is their first deposit)."""
    account = vault_account_get_or_create(user=user)
    account_id = account_id_bytes(account)
    vault = client.contract("PaymentVault").address
    token = client.contract("OpenToken").address
    approve, deposit = client.deposit_calldata(account_id=account_id, amount=amount)
    return [
        BrowserTransaction(
            "Approve the vault to take the OPEN",
            token,
            approve,
            f'cast send {token} "approve(address,uint256)" {vault} {amount}',
        ),
        BrowserTransaction(
            "Deposit into your account",
            vault,
            deposit,
            f'cast send {vault} "deposit(bytes32,uint256)" {account.account_id} {amount}',
        ),
    ]


def withdraw_transaction(voucher: WithdrawalVoucher) -> BrowserTransaction:
    """`withdraw(...)` with the voucher's fields and signature; needs no node (the vault's address is in
    the voucher)."""
    signed = signed_voucher(voucher)
    vault = Web3().eth.contract(
        address=Web3.to_checksum_address(voucher.vault), abi=load_artifact("PaymentVault").abi
    )
    data = vault.encode_abi("withdraw", args=list(signed.arguments()))
    cast = (
        f'cast send {voucher.vault} "withdraw(bytes32,address,uint256,uint256,uint256,bytes)" '
        f"{voucher.account_id} {voucher.recipient} {voucher.amount} {voucher.nonce} {voucher.deadline} "
        f"{voucher.signature}"
    )
    return BrowserTransaction("Withdraw to your wallet", voucher.vault, data, cast)
