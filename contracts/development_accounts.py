"""anvil's well-known development accounts: the operator and demo wallets on a local chain.

These keys are published in every Foundry install and hold real value on no chain; anything sent to
their addresses on a public network is taken by bots within seconds. Use them with anvil only: on a real
chain the operator key comes from the environment or a keystore (docs/chain.md), never from the repo.
"""

from __future__ import annotations

from eth_account import Account

ANVIL_CHAIN_ID = 31337

# anvil's accounts 0..4 from its default mnemonic "test test test ... junk".
ANVIL_KEYS = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1c9d0b13723e9ec0e7dadb1b1e7a8",
)

DEVELOPMENT_OPERATOR_KEY = ANVIL_KEYS[0]


def address_of(key: str) -> str:
    return Account.from_key(key).address
