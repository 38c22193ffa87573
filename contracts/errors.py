"""What can go wrong on the chain, as exceptions of the domain.

Callers branch on these, never on web3.py's exceptions: `ChainUnavailable` means "try again later"
(settlements wait and are committed in order on recovery), a `ContractReverted` subclass means the
chain refused the request and retrying the same request will fail the same way.
"""

from __future__ import annotations

from typing import Any


class ChainError(Exception):
    """Base of every error raised by the chain layer."""


class ChainUnavailable(ChainError):
    """The chain node did not answer; the message names the RPC URL and the reason."""


class TransactionNotMined(ChainUnavailable):
    """A transaction was sent but no receipt arrived in time: it may still be mined, so re-read state
    (e.g. `last_committed_epoch`) before sending it again."""


class TransactionRejected(ChainUnavailable):
    """The node refused a signed transaction before mining it ("nonce too low", "replacement transaction
    underpriced", "already known"): another sender of the same account got there first. Nothing was
    done; re-read state and try again later, like an outage."""


class OperatorKeyMissing(ChainError):
    """A write was asked of a client built without an operator key."""


class OperatorNotAdmin(ChainError):
    """A grant is needed that the operator can no longer make: it handed DEFAULT_ADMIN_ROLE over to a cold
    admin (`contracts.role_handover`). The message names the grant for that admin to make."""


class ArtifactsMissing(ChainError):
    """contracts/build/ lacks a compiled contract: run `make contracts`."""


class ContractsNotDeployed(ChainError):
    """The client has no deployment attached: call `ChainClient.ensure_deployed(var_dir)` first."""


class DeploymentOutdated(ChainError):
    """The stored deployment was compiled from other sources than contracts/build/ holds.

    Contracts are not upgradeable, so this layer never replaces a live deployment on its own: on a
    development chain pass `replace_outdated=True` (the old records stay on chain at the old addresses);
    on a real chain deploy deliberately and migrate.
    """


class ContractReverted(ChainError):
    """The contract refused the call with a custom error (or a plain revert / panic).

    `error` is the Solidity error's name (e.g. "AlreadyClaimed") and `arguments` its decoded
    arguments by name, so callers and logs see exactly why.
    """

    def __init__(self, *, contract: str, function: str, error: str, arguments: dict[str, Any]) -> None:
        self.contract = contract
        self.function = function
        self.error = error
        self.arguments = arguments
        shown = ", ".join(f"{name}={_show(value)}" for name, value in arguments.items())
        super().__init__(f"{contract}.{function} reverted with {error}({shown})")


class NotAuthorized(ContractReverted):
    """The sender lacks the role (operator, registrar, minter) or is not the record's owner/developer."""


class EpochAlreadyCommitted(ContractReverted):
    """That epoch is on chain already: a re-run after a crash should mark it settled, not resend it."""


class EpochOutOfOrder(ContractReverted):
    """Epochs are committed 1, 2, 3...; `arguments["expected"]` is the next one the contract accepts."""


class AlreadyClaimed(ContractReverted):
    """This account's payout for this epoch was paid already."""


class InvalidProof(ContractReverted):
    """The (account, amount) with this proof is not a leaf of the epoch's committed payout tree."""


class InsufficientFunds(ContractReverted):
    """An OPEN balance or allowance is short: a depositor's, or a vault account's for a debit or a
    withdrawal."""


class DebitsMismatch(ContractReverted):
    """An epoch's debits, less what it holds plus what it releases, are not its total (or it releases more
    than earlier epochs held): the vault refuses to fund it."""


class VoucherExpired(ContractReverted):
    """The withdrawal voucher's deadline has passed: ask the platform for a new one."""


class VoucherUsed(ContractReverted):
    """The withdrawal voucher's nonce was spent already (the withdrawal happened)."""


class VoucherInvalid(ContractReverted):
    """The voucher's signature is malformed or not by a holder of the vault's SIGNER_ROLE (or a field was
    changed after signing, which recovers another signer)."""


# Solidity error name -> the exception raised for it; anything else is a plain ContractReverted.
REVERT_CLASSES: dict[str, type[ContractReverted]] = {
    "AccessControlUnauthorizedAccount": NotAuthorized,
    "NotAdapterDeveloperOrRegistrar": NotAuthorized,
    "EpochAlreadyCommitted": EpochAlreadyCommitted,
    "EpochOutOfOrder": EpochOutOfOrder,
    "AlreadyClaimed": AlreadyClaimed,
    "InvalidProof": InvalidProof,
    "ERC20InsufficientBalance": InsufficientFunds,
    "ERC20InsufficientAllowance": InsufficientFunds,
    "DebitExceedsBalance": InsufficientFunds,
    "WithdrawalExceedsBalance": InsufficientFunds,
    "DebitsDoNotMatchTotal": DebitsMismatch,
    "ReleaseExceedsHeld": DebitsMismatch,
    "VoucherExpired": VoucherExpired,
    "NonceAlreadyUsed": VoucherUsed,
    "InvalidVoucherSigner": VoucherInvalid,
    "ECDSAInvalidSignature": VoucherInvalid,
    "ECDSAInvalidSignatureLength": VoucherInvalid,
    "ECDSAInvalidSignatureS": VoucherInvalid,
}


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)
