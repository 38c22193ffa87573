"""Handing the contracts' powerful roles from the hot operator key to a cold admin (a hardware key or a
multisig), and reading back who holds what.

`deploy_contracts` deploys with the operator as admin of every contract and holder of every role, because
it must wire the contracts together. Left so, whoever steals the operator key (it sits on the settlement
worker) can mint OPEN, appoint signers that sign withdrawals from any vault account, and grant itself
anything. After `hand_over_roles` the operator keeps only what it uses every day: REGISTRAR_ROLE on both
registries and OPERATOR_ROLE on the settlement contract; DEFAULT_ADMIN_ROLE everywhere and OpenToken's
MINTER_ROLE belong to the cold admin (and minter), and the vault's SIGNER_ROLE to the voucher key.

The order is what makes it safe: every grant first, each checked with `hasRole` on chain, and only then
the operator's renouncements. The operator sends them all from one account, so their nonces also keep the
renouncements behind the grants should a block be reorganised. Every step looks at `hasRole` before it
sends, so a run that stopped anywhere is finished by running it again with the same addresses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from web3 import Web3
from web3.contract import Contract

from contracts.artifacts import CONTRACT_NAMES, load_artifact
from contracts.deployment import Deployment, is_live
from contracts.errors import ChainError
from contracts.transactions import TransactionSender, outages_as_chain_unavailable

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
DEFAULT_ADMIN_ROLE = "DEFAULT_ADMIN_ROLE"

# The roles of each contract that matter for who controls it, in the order the table shows them.
CONTRACT_ROLES: dict[str, tuple[str, ...]] = {
    "OpenToken": (DEFAULT_ADMIN_ROLE, "MINTER_ROLE"),
    "DatanetRegistry": (DEFAULT_ADMIN_ROLE, "REGISTRAR_ROLE"),
    "ModelRegistry": (DEFAULT_ADMIN_ROLE, "REGISTRAR_ROLE"),
    "PaymentVault": (DEFAULT_ADMIN_ROLE, "SIGNER_ROLE", "SETTLEMENT_ROLE"),
    "AttributionSettlement": (DEFAULT_ADMIN_ROLE, "OPERATOR_ROLE"),
}


class HandOverRefused(ChainError):
    """The hand-over was asked with addresses that would lock the contracts or keep them hot (the operator
    or the zero address as admin or minter), on a deployment that is not live, or after the operator has
    already given up the admin role that a grant still needed."""


@dataclass(frozen=True)
class RoleStep:
    """One transaction of the hand-over: grant `role` on `contract` to `account`, or the operator renounces
    it. `holder` says who `account` is ("admin", "minter", "voucher signer", "operator")."""

    action: Literal["grant", "renounce"]
    contract: str
    role: str
    account: str
    holder: str

    def __str__(self) -> str:
        if self.action == "grant":
            return f"grant {self.role} on {self.contract} to the {self.holder} {self.account}"
        return f"the {self.holder} {self.account} renounces {self.role} on {self.contract}"


@dataclass(frozen=True)
class RoleHolding:
    """Which of the accounts asked about hold `role` on `contract` (their labels, in the order given).

    AccessControl cannot list a role's holders, so only the accounts asked about are checked."""

    contract: str
    role: str
    holders: tuple[str, ...]


@dataclass(frozen=True)
class HandOverPlan:
    """The steps a hand-over still has to send: grants first, then renouncements."""

    grants: tuple[RoleStep, ...]
    renouncements: tuple[RoleStep, ...]

    @property
    def steps(self) -> tuple[RoleStep, ...]:
        return self.grants + self.renouncements

    @property
    def done(self) -> bool:
        return not self.steps


def hand_over_plan(
    web3: Web3,
    deployment: Deployment,
    *,
    operator: str,
    admin: str,
    voucher_signer: str,
    minter: str | None = None,
) -> HandOverPlan:
    """What `hand_over_roles` would send now, sending nothing (the command's dry run).

    Renouncements are listed as they stand now; `hand_over_roles` re-reads them once the grants are done.
    Raises `HandOverRefused` for the addresses and deployments `hand_over_roles` refuses, and for a grant
    the operator can no longer make (it renounced the admin role in an earlier run for other addresses):
    only the cold admin can make that one now.
    """
    accounts = _checked_accounts(web3, deployment, operator, admin, voucher_signer, minter)
    return _plan(web3, _contracts(web3, deployment), accounts)


def hand_over_roles(
    sender: TransactionSender,
    deployment: Deployment,
    *,
    admin: str,
    voucher_signer: str,
    minter: str | None = None,
) -> list[RoleStep]:
    """Grant DEFAULT_ADMIN_ROLE on all five contracts to `admin`, OpenToken's MINTER_ROLE to `minter`
    (default: `admin`) and the vault's SIGNER_ROLE to `voucher_signer`; then, once every one of those
    holds on chain, have the operator (`sender`) renounce its DEFAULT_ADMIN_ROLE everywhere, its
    MINTER_ROLE and (when the voucher signer is another key) its SIGNER_ROLE.

    Returns the steps sent, in order: empty when everything was handed over already. The operator keeps
    REGISTRAR_ROLE and OPERATOR_ROLE, all it needs to register and commit epochs. Refuses
    (`HandOverRefused`, before sending anything) what `hand_over_plan` refuses.
    """
    accounts = _checked_accounts(sender.web3, deployment, sender.address, admin, voucher_signer, minter)
    contracts = _contracts(sender.web3, deployment)
    plan = _plan(sender.web3, contracts, accounts)
    sent: list[RoleStep] = []
    for step in plan.grants:
        contract = contracts[step.contract]
        sender.send(
            contract.functions.grantRole(_role_id(contract, step.role), step.account), contract=step.contract
        )
        sent.append(step)
    with outages_as_chain_unavailable(sender.rpc_url):
        missing = [step for step in _grants(accounts) if not _holds(contracts, step)]
        if missing:  # cannot happen after successful receipts, unless someone revoked one meanwhile
            raise HandOverRefused(
                "not renouncing anything, these grants do not hold on chain: "
                + "; ".join(str(step) for step in missing)
            )
        renouncements = [step for step in _renouncements(accounts) if _holds(contracts, step)]
    for step in renouncements:
        contract = contracts[step.contract]
        sender.send(
            contract.functions.renounceRole(_role_id(contract, step.role), step.account),
            contract=step.contract,
        )
        sent.append(step)
    return sent


def role_holdings(web3: Web3, deployment: Deployment, accounts: Mapping[str, str]) -> list[RoleHolding]:
    """For every role of `CONTRACT_ROLES`, which of `accounts` (label -> address) hold it on chain: to
    verify a hand-over, and for the command's table. Reads only."""
    contracts = _contracts(web3, deployment)
    holdings = []
    with outages_as_chain_unavailable(_rpc_url(web3)):
        for name, roles in CONTRACT_ROLES.items():
            contract = contracts[name]
            for role in roles:
                role_id = _role_id(contract, role)
                holders = tuple(
                    label
                    for label, address in accounts.items()
                    if contract.functions.hasRole(role_id, Web3.to_checksum_address(address)).call()
                )
                holdings.append(RoleHolding(name, role, holders))
    return holdings


def format_role_holdings(holdings: list[RoleHolding]) -> str:
    """The holdings as an aligned text table, one role per line."""
    width = max(len(h.contract) for h in holdings)
    role_width = max(len(h.role) for h in holdings)
    return "\n".join(
        f"{h.contract:<{width}}  {h.role:<{role_width}}  {', '.join(h.holders) or '(none of these)'}"
        for h in holdings
    )


# --- Internals ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Accounts:
    operator: str
    admin: str
    minter: str
    voucher_signer: str


def _checked_accounts(
    web3: Web3, deployment: Deployment, operator: str, admin: str, voucher_signer: str, minter: str | None
) -> _Accounts:
    """The addresses checksummed, or `HandOverRefused` for ones that would lock the contracts or leave the
    hot key in control, and for a deployment that is not live on this chain."""
    accounts = _Accounts(
        operator=_checksummed(operator, "operator"),
        admin=_checksummed(admin, "admin"),
        minter=_checksummed(minter if minter is not None else admin, "minter"),
        voucher_signer=_checksummed(voucher_signer, "voucher signer"),
    )
    for label, address in (("admin", accounts.admin), ("minter", accounts.minter)):
        if address == ZERO_ADDRESS:
            raise HandOverRefused(f"the {label} cannot be the zero address: nobody could ever use the role")
        if address == accounts.operator:
            raise HandOverRefused(
                f"the {label} must be a cold key or a multisig, not the operator {accounts.operator} "
                "that is being relieved of it"
            )
    if accounts.voucher_signer == ZERO_ADDRESS:
        raise HandOverRefused("the voucher signer cannot be the zero address: no withdrawal could be signed")
    with outages_as_chain_unavailable(_rpc_url(web3)):
        live = is_live(web3, deployment)
    if not live:
        raise HandOverRefused(
            f"the deployment of chain {deployment.chain_id} ({deployment.addresses}) is not live on this "
            "chain: nothing to hand over"
        )
    return accounts


def _plan(web3: Web3, contracts: Mapping[str, Contract], accounts: _Accounts) -> HandOverPlan:
    """The grants not held yet (each one the operator can still make) and the renouncements due now."""
    with outages_as_chain_unavailable(_rpc_url(web3)):
        grants = tuple(step for step in _grants(accounts) if not _holds(contracts, step))
        for step in grants:
            contract = contracts[step.contract]
            admin_role = bytes(contract.functions.getRoleAdmin(_role_id(contract, step.role)).call())
            if not contract.functions.hasRole(admin_role, accounts.operator).call():
                raise HandOverRefused(
                    f"cannot {step}: the operator {accounts.operator} no longer administers "
                    f"{step.contract} (its roles were handed over already); only its admin can grant it now"
                )
        return HandOverPlan(
            grants=grants,
            renouncements=tuple(step for step in _renouncements(accounts) if _holds(contracts, step)),
        )


def _checksummed(address: str, label: str) -> str:
    if not Web3.is_address(address):
        raise HandOverRefused(f"the {label} {address!r} is not an address")
    return Web3.to_checksum_address(address)


def _grants(accounts: _Accounts) -> list[RoleStep]:
    steps = [RoleStep("grant", name, DEFAULT_ADMIN_ROLE, accounts.admin, "admin") for name in CONTRACT_NAMES]
    steps.append(RoleStep("grant", "OpenToken", "MINTER_ROLE", accounts.minter, "minter"))
    steps.append(RoleStep("grant", "PaymentVault", "SIGNER_ROLE", accounts.voucher_signer, "voucher signer"))
    return steps


def _renouncements(accounts: _Accounts) -> list[RoleStep]:
    operator = accounts.operator
    steps = [RoleStep("renounce", "OpenToken", "MINTER_ROLE", operator, "operator")]
    if accounts.voucher_signer != operator:
        steps.append(RoleStep("renounce", "PaymentVault", "SIGNER_ROLE", operator, "operator"))
    # The admin role last: the renouncements above need no admin, but a stop between them leaves the
    # operator able to correct a mistake for as long as possible.
    steps += [RoleStep("renounce", name, DEFAULT_ADMIN_ROLE, operator, "operator") for name in CONTRACT_NAMES]
    return steps


def _contracts(web3: Web3, deployment: Deployment) -> dict[str, Contract]:
    return {
        name: web3.eth.contract(address=deployment.address_of(name), abi=load_artifact(name).abi)
        for name in CONTRACT_NAMES
    }


def _role_id(contract: Contract, role: str) -> bytes:
    """The role's id as the contract defines it (DEFAULT_ADMIN_ROLE is zero in every AccessControl)."""
    if role == DEFAULT_ADMIN_ROLE:
        return bytes(32)
    return bytes(getattr(contract.functions, role)().call())


def _holds(contracts: Mapping[str, Contract], step: RoleStep) -> bool:
    contract = contracts[step.contract]
    return bool(contract.functions.hasRole(_role_id(contract, step.role), step.account).call())


def _rpc_url(web3: Web3) -> str:
    """The node's address for outage messages (in-process providers have none)."""
    return str(getattr(web3.provider, "endpoint_uri", None) or type(web3.provider).__name__)
