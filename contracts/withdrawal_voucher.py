"""Withdrawal vouchers: the platform's EIP-712 signature that lets a user take OPEN out of the PaymentVault.

The platform signs a voucher only after reserving the amount in its own ledger, so what the chain lets a
user withdraw is always what the ledger set aside. The signed struct is

    Withdrawal(bytes32 account, address recipient, uint256 amount, uint256 nonce, uint256 deadline)

in the domain {name: "ModelFactory PaymentVault", version: "1", chainId, verifyingContract: the vault}:
the chain id and the vault's address are part of what is signed, so a voucher is good on one chain and one
deployment only, and its nonce makes it good once. Pure functions, no node needed: the contract tests
check that `voucher_digest` equals the contract's own `withdrawalDigest`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_utils import keccak, to_checksum_address

DOMAIN_NAME = "ModelFactory PaymentVault"
DOMAIN_VERSION = "1"
WITHDRAWAL_TYPE = [
    {"name": "account", "type": "bytes32"},
    {"name": "recipient", "type": "address"},
    {"name": "amount", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]


@dataclass(frozen=True)
class WithdrawalVoucher:
    """What `PaymentVault.withdraw` takes: the signed fields and the signature (65 bytes)."""

    chain_id: int
    vault: str
    account: bytes
    recipient: str
    amount: int
    nonce: int
    deadline: int  # unix seconds, compared with block.timestamp
    signature: bytes

    def arguments(self) -> tuple[bytes, str, int, int, int, bytes]:
        """The arguments of `withdraw(account, recipient, amount, nonce, deadline, signature)`, in order."""
        return (self.account, self.recipient, self.amount, self.nonce, self.deadline, self.signature)


def new_nonce() -> int:
    """A random 128-bit nonce: unique without a counter, so a development database reset against a chain
    that kept its state can never reissue a nonce the vault has seen."""
    return secrets.randbits(128)


def voucher_typed_data(
    *, chain_id: int, vault: str, account: bytes, recipient: str, amount: int, nonce: int, deadline: int
) -> dict[str, Any]:
    """The EIP-712 message as `eth_signTypedData_v4` and eth_account take it."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Withdrawal": WITHDRAWAL_TYPE,
        },
        "primaryType": "Withdrawal",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": to_checksum_address(vault),
        },
        "message": {
            "account": account,
            "recipient": to_checksum_address(recipient),
            "amount": amount,
            "nonce": nonce,
            "deadline": deadline,
        },
    }


def voucher_digest(**fields: Any) -> bytes:
    """The 32-byte digest that is signed (the contract's `withdrawalDigest`)."""
    message = encode_typed_data(full_message=voucher_typed_data(**fields))
    return bytes(_hash_signable(message))


def sign_voucher(
    *,
    signer_key: str,
    chain_id: int,
    vault: str,
    account: bytes,
    recipient: str,
    amount: int,
    nonce: int,
    deadline: int,
) -> WithdrawalVoucher:
    """Sign a withdrawal with `signer_key` (an account holding the vault's SIGNER_ROLE)."""
    fields = {
        "chain_id": chain_id,
        "vault": to_checksum_address(vault),
        "account": bytes(account),
        "recipient": to_checksum_address(recipient),
        "amount": int(amount),
        "nonce": int(nonce),
        "deadline": int(deadline),
    }
    signed = Account.sign_message(encode_typed_data(full_message=voucher_typed_data(**fields)), signer_key)
    return WithdrawalVoucher(**fields, signature=bytes(signed.signature))


def voucher_signer(voucher: WithdrawalVoucher) -> str:
    """Who signed the voucher, recovered as the contract recovers it."""
    message = encode_typed_data(
        full_message=voucher_typed_data(
            chain_id=voucher.chain_id,
            vault=voucher.vault,
            account=voucher.account,
            recipient=voucher.recipient,
            amount=voucher.amount,
            nonce=voucher.nonce,
            deadline=voucher.deadline,
        )
    )
    return Account.recover_message(message, signature=voucher.signature)


def _hash_signable(message: SignableMessage) -> bytes:
    """EIP-191: keccak256(0x19 ‖ version ‖ header ‖ body); for typed data header = domain separator."""
    return keccak(b"\x19" + message.version + message.header + message.body)
