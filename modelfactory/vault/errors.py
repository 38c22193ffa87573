"""Domain errors of the vault; `modelfactory.domain_errors` gives each its HTTP status."""

from __future__ import annotations


class WithdrawalNotFound(Exception):
    """No withdrawal by that id among the person's own: another person's is as absent as a missing one."""


class WithdrawalRefused(Exception):
    """The withdrawal cannot be issued; the message says what to do."""
