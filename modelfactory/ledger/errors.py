"""Domain errors of the ledger; `modelfactory.domain_errors` gives each its HTTP status."""

from __future__ import annotations


class EpochNotFound(Exception):
    """No epoch by that number (epochs are public: the explorer lists them all)."""


class ReceiptNotFound(Exception):
    """No receipt by that id. Receipts are public records (the epoch explorer lists them and they settle
    on a public chain), so there is no receipt that exists but may not be seen: only its evidence is
    gated (`attribution_visible_to`)."""

    code = "receipt_not_found"  # the API's error code


class PayoutNotFound(Exception):
    """No unclaimed payout of this person's proven wallets in that epoch; someone else's is the same."""


class ClaimRefused(Exception):
    """The payout cannot be claimed from here; the message says why."""


class WalletVerificationFailed(Exception):
    """The signature does not prove the address (wrong signer, unknown/used/expired nonce)."""
