"""The only module that talks to the chain (web3.py).

Everything on-chain goes through `ChainClient`, so an RPC outage is met in one place: reads
raise `ChainUnavailable`, and callers that write (settlements) queue instead of dropping.
"""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3
from web3.exceptions import Web3Exception


class ChainUnavailable(Exception):
    """The chain node did not answer; the message names the RPC URL and the reason."""


@dataclass(frozen=True)
class ChainStatus:
    rpc_url: str
    chain_id: int
    block_number: int
    client_version: str


class ChainClient:
    def __init__(self, rpc_url: str, *, timeout_s: float = 3.0) -> None:
        self.rpc_url = rpc_url
        self.web3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout_s}))

    def status(self) -> ChainStatus:
        try:
            return ChainStatus(
                rpc_url=self.rpc_url,
                chain_id=self.web3.eth.chain_id,
                block_number=self.web3.eth.block_number,
                client_version=self.web3.client_version,
            )
        except (OSError, Web3Exception, ValueError) as error:
            raise ChainUnavailable(f"chain node at {self.rpc_url} did not answer: {error}") from error
