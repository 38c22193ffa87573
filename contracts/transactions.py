"""Signing and sending the operator's transactions, and turning failures into domain exceptions.

Transactions are signed locally with the operator's key (never by the node), so the same code runs
against anvil, eth-tester and a real chain. Every transaction is simulated first (gas estimation),
which is where a revert is caught and decoded from the contracts' ABIs into e.g. `AlreadyClaimed`.
Sends from one sender are serialised by a lock so nonces never collide within a process; run one
settlement job at a time per operator account across processes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from eth_abi import decode
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import (
    ContractCustomError,
    ContractLogicError,
    ContractPanicError,
    ProviderConnectionError,
    RequestTimedOut,
    TimeExhausted,
    Web3RPCError,
)

from contracts.artifacts import abi_type, error_abis
from contracts.errors import (
    REVERT_CLASSES,
    ChainUnavailable,
    ContractReverted,
    TransactionNotMined,
    TransactionRejected,
)

OUTAGES = (OSError, ProviderConnectionError, RequestTimedOut)


@contextmanager
def outages_as_chain_unavailable(rpc_url: str) -> Iterator[None]:
    """Turn "the node did not answer" in any form into `ChainUnavailable`, and nothing else."""
    try:
        yield
    except OUTAGES as error:
        raise ChainUnavailable(f"chain node at {rpc_url} did not answer: {error}") from error


def decode_revert(error: ContractLogicError, *, contract: str, function: str) -> ContractReverted:
    """The domain exception for a revert: custom errors by name and arguments, else the reason text."""
    data = error.data if isinstance(error.data, str) else None
    if isinstance(error, ContractCustomError | ContractPanicError) and data:
        raw = HexBytes(data)
        known = error_abis().get(bytes(raw[:4]))
        if known is not None:
            _, abi = known
            types = [abi_type(i) for i in abi["inputs"]]
            values = decode(types, bytes(raw[4:])) if types else ()
            arguments = {
                i["name"]: to_checksum_address(v) if i["type"] == "address" else v
                for i, v in zip(abi["inputs"], values, strict=True)
            }
            exception = REVERT_CLASSES.get(abi["name"], ContractReverted)
            return exception(contract=contract, function=function, error=abi["name"], arguments=arguments)
    kind = "Panic" if isinstance(error, ContractPanicError) else "Error"
    return ContractReverted(
        contract=contract, function=function, error=kind, arguments={"reason": error.message or str(error)}
    )


class TransactionSender:
    """Sends transactions from one local account and waits for them to be mined."""

    def __init__(
        self, web3: Web3, account: LocalAccount, *, rpc_url: str, receipt_timeout_s: float = 120
    ) -> None:
        self.web3 = web3
        self.account = account
        self.rpc_url = rpc_url
        self.receipt_timeout_s = receipt_timeout_s
        self._lock = threading.Lock()

    @property
    def address(self) -> str:
        return self.account.address

    def send(self, call: ContractFunction, *, contract: str) -> Any:
        """Simulate, sign, send and wait for `call`; returns the receipt of a successful transaction.

        A nonce taken meanwhile by another process sending as the same account is retried once with a
        fresh one; a second refusal is `TransactionRejected`, for the caller to retry later.
        """
        function = call.fn_name
        with self._lock, outages_as_chain_unavailable(self.rpc_url):
            try:
                return self._sign_send_wait(self._built(call, contract), contract=contract, function=function)
            except TransactionRejected as error:
                if "nonce" not in str(error).lower():
                    raise
            return self._sign_send_wait(self._built(call, contract), contract=contract, function=function)

    def _built(self, call: ContractFunction, contract: str) -> dict[str, Any]:
        """`call` as a transaction from this sender, at its next nonce (a revert is the domain error)."""
        try:
            return call.build_transaction(
                {"from": self.address, "nonce": self.web3.eth.get_transaction_count(self.address, "pending")}
            )
        except ContractLogicError as error:
            raise decode_revert(error, contract=contract, function=call.fn_name) from error

    def deploy(self, abi: list[dict[str, Any]], bytecode: str, *args: Any, contract: str) -> Any:
        """Deploy a contract; returns the receipt (its `contractAddress` is the new address)."""
        factory = self.web3.eth.contract(abi=abi, bytecode=bytecode)
        with self._lock, outages_as_chain_unavailable(self.rpc_url):
            try:
                transaction = factory.constructor(*args).build_transaction(
                    {
                        "from": self.address,
                        "nonce": self.web3.eth.get_transaction_count(self.address, "pending"),
                    }
                )
            except ContractLogicError as error:
                raise decode_revert(error, contract=contract, function="constructor") from error
            return self._sign_send_wait(transaction, contract=contract, function="constructor")

    def _sign_send_wait(self, transaction: dict[str, Any], *, contract: str, function: str) -> Any:
        signed = self.account.sign_transaction(transaction)
        try:
            tx_hash = self.web3.eth.send_raw_transaction(signed.raw_transaction)
        except RequestTimedOut:
            raise  # an outage, not a refusal: `outages_as_chain_unavailable` says so
        except Web3RPCError as error:
            raise TransactionRejected(
                f"the node at {self.rpc_url} refused {contract}.{function} from {self.address} "
                f"(nonce {transaction.get('nonce')}): {error}"
            ) from error
        try:
            receipt = self.web3.eth.wait_for_transaction_receipt(
                tx_hash, timeout=self.receipt_timeout_s, poll_latency=0.1
            )
        except TimeExhausted as error:
            raise TransactionNotMined(
                f"{contract}.{function} transaction {tx_hash.to_0x_hex()} was not mined within "
                f"{self.receipt_timeout_s:.0f} s on {self.rpc_url}"
            ) from error
        if receipt["status"] != 1:
            # Simulated fine, failed when mined: the state changed in between (e.g. a competing claim).
            raise ContractReverted(
                contract=contract,
                function=function,
                error="RevertedWhenMined",
                arguments={"tx_hash": tx_hash.to_0x_hex(), "block_number": receipt["blockNumber"]},
            )
        return receipt
