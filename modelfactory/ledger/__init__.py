"""The ledger: inference receipts (who and what produced each answer, and its fee split) and their
settlement on chain in Merkle epochs."""
