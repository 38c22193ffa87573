"""eth-tester's in-process EVM (py-evm), made to report reverts the way a real node does.

A real node answers a reverting eth_call / eth_estimateGas with the revert data, which web3.py raises
as ContractCustomError(data=...) and the chain client decodes into e.g. `AlreadyClaimed`. eth-tester
instead raises TransactionFailed and web3's adapter flattens custom-error data into a message. This
provider raises what web3 raises for a real node, so the client under test runs its production path.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

from eth_abi import decode
from eth_tester.exceptions import TransactionFailed
from web3 import EthereumTesterProvider
from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError
from web3.providers.eth_tester.defaults import API_ENDPOINTS

ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256)


def _revert_as_a_node_reports_it(delegate: Callable[..., Any]) -> Callable[..., Any]:
    def call(tester: Any, params: Any) -> Any:
        try:
            return delegate(tester, params)
        except TransactionFailed as error:
            data = error.args[0] if error.args else b""
            if isinstance(data, Exception) and data.args:
                data = data.args[0]
            if isinstance(data, str) and data[:2] in ("b'", 'b"'):
                data = ast.literal_eval(data)  # eth_call reports the revert data as the repr of its bytes
            if not isinstance(data, bytes):
                raise
            hex_data = "0x" + data.hex()
            if data[:4] == ERROR_STRING_SELECTOR:
                (reason,) = decode(["string"], data[4:])
                raise ContractLogicError(f"execution reverted: {reason}", data=hex_data) from error
            if data[:4] == PANIC_SELECTOR:
                raise ContractPanicError(f"panic {int.from_bytes(data[4:], 'big')}", data=hex_data) from error
            if not data:
                raise ContractLogicError("execution reverted", data=hex_data) from error
            raise ContractCustomError(hex_data, data=hex_data) from error

    return call


def in_process_provider() -> EthereumTesterProvider:
    endpoints = {namespace: dict(methods) for namespace, methods in API_ENDPOINTS.items()}
    for method in ("call", "estimateGas"):
        endpoints["eth"][method] = _revert_as_a_node_reports_it(endpoints["eth"][method])
    return EthereumTesterProvider(api_endpoints=endpoints)


def funded_keys(provider: EthereumTesterProvider) -> list[str]:
    """The private keys of eth-tester's pre-funded accounts, as 0x-hex strings."""
    return [key.to_hex() for key in provider.ethereum_tester.backend.account_keys]
