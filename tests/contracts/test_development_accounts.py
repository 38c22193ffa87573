"""The development keys are anvil's own: each derives from anvil's mnemonic, so each has gas on anvil."""

from __future__ import annotations

from eth_account import Account

from contracts.development_accounts import ANVIL_KEYS, ANVIL_MNEMONIC


def test_every_development_key_is_the_account_anvil_funds_at_that_index():
    Account.enable_unaudited_hdwallet_features()
    derived = [
        Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}").key.to_0x_hex()
        for index in range(len(ANVIL_KEYS))
    ]
    assert list(ANVIL_KEYS) == derived
