"""The only module that talks to the chain (web3.py).

Everything on-chain goes through `ChainClient`, so an RPC outage is met in one place: calls raise
`ChainUnavailable`, and callers that write (settlements) queue instead of dropping. A refusal by a
contract raises a `ContractReverted` subclass named for the reason (`AlreadyClaimed`, `InvalidProof`,
`EpochAlreadyCommitted`...). Writes are signed locally with the operator key given to the client (the
Django side reads it from the environment or a keystore; in development it is anvil's first account,
`contracts.development_accounts.DEVELOPMENT_OPERATOR_KEY`).

Typical use:

    client = ChainClient(settings.CHAIN_RPC_URL, operator_key=key)
    client.ensure_deployed(var_dir)              # once per start; idempotent
    client.deposit(account_id=alice_id, amount=2000, sender_key=alice_key)   # alice prepays
    tree = PayoutTree({"0xAbc…": 1200, "0xDef…": 800})
    client.commit_epoch(epoch=client.last_committed_epoch() + 1, payouts=tree,
                        receipts_root=bytes32_root(receipt_hashes), receipt_count=len(receipt_hashes),
                        funding=VaultFunding(debits=(Debit(alice_id, 2000),)))  # what she was charged
    payout = tree.payout("0xAbc…")
    client.claim(epoch=1, account=payout.account, amount=payout.amount, proof=payout.proof)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, Web3Exception

from contracts.artifacts import CONTRACT_NAMES, load_artifact
from contracts.deployment import Deployment, ensure_deployed, find_deployment
from contracts.errors import (
    ChainUnavailable,
    ContractReverted,
    ContractsNotDeployed,
    OperatorKeyMissing,
    OperatorNotAdmin,
)
from contracts.payout_tree import PayoutTree
from contracts.records import (
    HELD_EARNINGS_ACCOUNT,
    AccessPolicy,
    AdapterRecord,
    ChainEvent,
    ChainStatus,
    DatanetRecord,
    DatanetVersionRecord,
    DatanetVersionRef,
    EpochRecord,
    TxResult,
    VaultFunding,
)
from contracts.transactions import TransactionSender, decode_revert, outages_as_chain_unavailable
from contracts.withdrawal_voucher import WithdrawalVoucher, sign_voucher

__all__ = ["ChainClient", "ChainStatus", "ChainUnavailable"]

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


class ChainClient:
    """One chain, one deployment of the contracts, optionally one operator account that signs writes."""

    def __init__(
        self,
        rpc_url: str,
        *,
        timeout_s: float = 3.0,
        operator_key: str | None = None,
        voucher_key: str | None = None,
        deployment: Deployment | None = None,
        receipt_timeout_s: float = 120,
        web3: Web3 | None = None,
    ) -> None:
        """`web3` replaces the HTTP provider built from `rpc_url` (tests pass eth-tester's in-process EVM).

        `voucher_key` signs withdrawal vouchers (its address must hold the vault's SIGNER_ROLE,
        `voucher_signer_grant`); without it the operator key does. It lets the public web process sign
        vouchers without holding the key that commits epochs and administers the contracts.
        """
        self.rpc_url = rpc_url
        self.web3 = web3 or Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout_s}))
        self.receipt_timeout_s = receipt_timeout_s
        self._senders: dict[str, TransactionSender] = {}
        self._operator = self._sender_for(operator_key) if operator_key else None
        self._voucher_key = voucher_key
        self.deployment = deployment
        self._contracts: dict[str, Contract] = {}
        self._event_index: dict[tuple[str, bytes], Any] = {}
        if deployment is not None:
            self.attach(deployment)

    # --- Node and deployment -------------------------------------------------------------------------
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

    @property
    def operator_address(self) -> str:
        return self._require_operator().address

    def ensure_deployed(self, var_dir: Path, *, replace_outdated: bool = False) -> Deployment:
        """Reuse the deployment stored under `var_dir` if it is live on this chain, else deploy; attach it."""
        deployment = ensure_deployed(
            self.web3, self._require_operator(), Path(var_dir), replace_outdated=replace_outdated
        )
        self.attach(deployment)
        return deployment

    def find_deployment(self, var_dir: Path) -> Deployment | None:
        """Attach the deployment stored under `var_dir` if live, never deploying: for read-only processes."""
        deployment = find_deployment(self.web3, Path(var_dir), rpc_url=self.rpc_url)
        if deployment is not None:
            self.attach(deployment)
        return deployment

    def attach(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self._contracts = {
            name: self.web3.eth.contract(address=deployment.address_of(name), abi=load_artifact(name).abi)
            for name in CONTRACT_NAMES
        }
        self._event_index = {}
        for name, contract in self._contracts.items():
            for entry in contract.abi:
                if entry["type"] == "event":
                    event = contract.events[entry["name"]]()
                    self._event_index[(contract.address, bytes(Web3.to_bytes(hexstr=event.topic)))] = (
                        name,
                        event,
                    )

    def contract(self, name: str) -> Contract:
        """The web3 contract object, for reads this client does not wrap yet."""
        if not self._contracts:
            raise ContractsNotDeployed("no deployment attached: call ensure_deployed(var_dir) first")
        return self._contracts[name]

    # --- OPEN token ----------------------------------------------------------------------------------
    def mint(self, *, to: str, amount: int) -> TxResult:
        """Mint OPEN (minter role): the demo funds users and the operator, which pays for epochs."""
        return self._send("OpenToken", self.contract("OpenToken").functions.mint(_address(to), amount))

    def balance_of(self, account: str) -> int:
        return self._read(self.contract("OpenToken").functions.balanceOf(_address(account)))

    # --- Datanets ------------------------------------------------------------------------------------
    def register_datanet(self, *, datanet_id: bytes, owner: str, name: str) -> TxResult:
        call = self.contract("DatanetRegistry").functions.registerDatanet(datanet_id, _address(owner), name)
        return self._send("DatanetRegistry", call)

    def publish_datanet_version(
        self, *, datanet_id: bytes, version: int, rows_root: bytes, row_count: int
    ) -> TxResult:
        """Publish version `version` (the next number) with the Merkle root of its row hashes
        (`contracts.merkle_tree.bytes32_root`)."""
        call = self.contract("DatanetRegistry").functions.publishVersion(
            datanet_id, version, rows_root, row_count
        )
        return self._send("DatanetRegistry", call)

    def datanet(self, datanet_id: bytes) -> DatanetRecord | None:
        owner, version_count, registered_at = self._read(
            self.contract("DatanetRegistry").functions.datanet(datanet_id)
        )
        if owner == ZERO_ADDRESS:
            return None
        return DatanetRecord(datanet_id, owner, version_count, registered_at)

    def datanet_version(self, datanet_id: bytes, version: int) -> DatanetVersionRecord | None:
        rows_root, row_count, published_at = self._read(
            self.contract("DatanetRegistry").functions.datanetVersion(datanet_id, version)
        )
        if row_count == 0:
            return None
        return DatanetVersionRecord(datanet_id, version, bytes(rows_root), row_count, published_at)

    # --- Models --------------------------------------------------------------------------------------
    def register_adapter(
        self,
        *,
        adapter_id: bytes,
        developer: str,
        base_model: str,
        datanet_versions: Sequence[DatanetVersionRef],
        artifact_hash: bytes,
        policy: AccessPolicy,
    ) -> TxResult:
        refs = [(ref.datanet_id, ref.version) for ref in datanet_versions]
        call = self.contract("ModelRegistry").functions.registerAdapter(
            adapter_id, _address(developer), base_model, refs, artifact_hash, int(policy)
        )
        return self._send("ModelRegistry", call)

    def set_access_policy(self, *, adapter_id: bytes, policy: AccessPolicy) -> TxResult:
        call = self.contract("ModelRegistry").functions.setAccessPolicy(adapter_id, int(policy))
        return self._send("ModelRegistry", call)

    def grant_access(self, *, adapter_id: bytes, account: str) -> TxResult:
        call = self.contract("ModelRegistry").functions.grantAccess(adapter_id, _address(account))
        return self._send("ModelRegistry", call)

    def revoke_access(self, *, adapter_id: bytes, account: str) -> TxResult:
        call = self.contract("ModelRegistry").functions.revokeAccess(adapter_id, _address(account))
        return self._send("ModelRegistry", call)

    def can_use(self, adapter_id: bytes, account: str) -> bool:
        return self._read(self.contract("ModelRegistry").functions.canUse(adapter_id, _address(account)))

    def adapter(self, adapter_id: bytes) -> AdapterRecord | None:
        developer, policy, registered_at, artifact_hash, base_model, refs = self._read(
            self.contract("ModelRegistry").functions.adapter(adapter_id)
        )
        if developer == ZERO_ADDRESS:
            return None
        return AdapterRecord(
            adapter_id=adapter_id,
            developer=developer,
            policy=AccessPolicy(policy),
            registered_at=registered_at,
            artifact_hash=bytes(artifact_hash),
            base_model=base_model,
            datanet_versions=tuple(DatanetVersionRef(bytes(d), v) for d, v in refs),
        )

    # --- Settlement ----------------------------------------------------------------------------------
    def last_committed_epoch(self) -> int:
        """The highest committed epoch (0 before the first): the next commit must be this + 1."""
        return self._read(self.contract("AttributionSettlement").functions.lastEpoch())

    def commit_epoch(
        self,
        *,
        epoch: int,
        payouts: PayoutTree,
        receipts_root: bytes,
        receipt_count: int,
        funding: VaultFunding,
    ) -> TxResult:
        """Commit the epoch's payout root, receipts root and total, paid for from the vault by `funding`.

        `funding.debits` are what each vault account was charged in the epoch; less what the epoch holds
        for people with no wallet, plus what it releases of earlier held shares, they must add up to the
        payout total, and each debit must be covered by its account's balance, or the contract refuses
        the commit (`DebitsMismatch`, `InsufficientFunds`). The operator's own OPEN is never used. The
        commit is simulated first, so a refusal (also `EpochAlreadyCommitted` / `EpochOutOfOrder`: the
        contract decides, not this client) raises before anything is sent.
        """
        call = self.contract("AttributionSettlement").functions.commitEpoch(
            epoch,
            payouts.root,
            receipts_root,
            payouts.total,
            receipt_count,
            funding.as_argument(),
        )
        refusal = self._simulate("AttributionSettlement", call, sender=self.operator_address)
        if refusal is not None:
            raise refusal
        return self._send("AttributionSettlement", call)

    def epoch(self, epoch: int) -> EpochRecord | None:
        payout_root, receipts_root, total, claimed, receipt_count, committed_at = self._read(
            self.contract("AttributionSettlement").functions.epochInfo(epoch)
        )
        if payout_root == bytes(32):
            return None
        return EpochRecord(
            epoch, bytes(payout_root), bytes(receipts_root), total, claimed, receipt_count, committed_at
        )

    def claim(
        self,
        *,
        epoch: int,
        account: str,
        amount: int,
        proof: Sequence[bytes],
        sender_key: str | None = None,
    ) -> TxResult:
        """Pay `account` its amount for `epoch`; the OPEN always goes to `account`, whoever sends.

        Sent by the operator unless `sender_key` is given (in development, the user's generated wallet).
        """
        call = self.contract("AttributionSettlement").functions.claim(
            epoch, _address(account), amount, list(proof)
        )
        sender = self._sender_for(sender_key) if sender_key else self._require_operator()
        return self._send("AttributionSettlement", call, sender=sender)

    def is_claimed(self, epoch: int, account: str) -> bool:
        return self._read(
            self.contract("AttributionSettlement").functions.isClaimed(epoch, _address(account))
        )

    def verify_payout(self, *, epoch: int, account: str, amount: int, proof: Sequence[bytes]) -> bool:
        """Ask the contract whether the proof holds against the committed root: "verified on chain"."""
        call = self.contract("AttributionSettlement").functions.verifyPayout(
            epoch, _address(account), amount, list(proof)
        )
        return self._read(call)

    # --- Payment vault -------------------------------------------------------------------------------
    def deposit(self, *, account_id: bytes, amount: int, sender_key: str | None = None) -> TxResult:
        """Pay `amount` OPEN from the sender's wallet into vault account `account_id`: approve (only when
        the allowance is short), then deposit. Signed by `sender_key` (a depositor) or the operator."""
        sender = self._sender_for(sender_key) if sender_key else self._require_operator()
        vault = self.contract("PaymentVault")
        token = self.contract("OpenToken")
        allowance = self._read(token.functions.allowance(sender.address, vault.address))
        if allowance < amount:
            self._send("OpenToken", token.functions.approve(vault.address, amount), sender=sender)
        return self._send("PaymentVault", vault.functions.deposit(account_id, amount), sender=sender)

    def vault_balance(self, account_id: bytes, *, block: int | str = "latest") -> int:
        """What vault account `account_id` holds: deposits - committed charges - withdrawals."""
        return self._read(self.contract("PaymentVault").functions.balanceOf(account_id), block=block)

    def vault_total_balance(self) -> int:
        """The sum of every vault account's balance (the vault's OPEN never falls below it)."""
        return self._read(self.contract("PaymentVault").functions.totalBalance())

    def held_earnings(self, *, block: int | str = "latest") -> int:
        """What committed epochs hold for people with no wallet yet (the HELD_EARNINGS account)."""
        return self.vault_balance(HELD_EARNINGS_ACCOUNT, block=block)

    def withdrawal_voucher(
        self, *, account_id: bytes, recipient: str, amount: int, nonce: int, deadline: int
    ) -> WithdrawalVoucher:
        """A voucher for `withdraw`, signed with the voucher key (else the operator's), which must hold
        the vault's SIGNER_ROLE.

        Signing sends nothing; only call it once the amount is reserved in the platform's ledger.
        """
        return sign_voucher(
            signer_key=self._voucher_key or self._require_operator().account.key.to_0x_hex(),
            chain_id=self.deployment.chain_id if self.deployment else self._chain_id(),
            vault=self.contract("PaymentVault").address,
            account=account_id,
            recipient=recipient,
            amount=amount,
            nonce=nonce,
            deadline=deadline,
        )

    def voucher_signer_grant(self, address: str) -> bool:
        """Give `address` the vault's SIGNER_ROLE (as its admin, the operator); False when it has it.

        Runs on every start, also after the roles were handed over to a cold admin
        (`contracts.role_handover`): a signer that holds the role needs nothing, and one that does not
        raises `OperatorNotAdmin` naming the grant the admin has to make, before anything is sent.
        """
        vault = self.contract("PaymentVault")
        role = self._read(vault.functions.SIGNER_ROLE())
        if self._read(vault.functions.hasRole(role, _address(address))):
            return False
        admin_role = self._read(vault.functions.getRoleAdmin(role))
        if not self._read(vault.functions.hasRole(admin_role, self.operator_address)):
            raise OperatorNotAdmin(
                f"{address} needs the PaymentVault's SIGNER_ROLE to sign withdrawal vouchers, and the "
                f"operator {self.operator_address} no longer administers the vault (roles were handed "
                f"over): the vault's admin must grantRole(SIGNER_ROLE, {_address(address)}) on "
                f"{vault.address}"
            )
        self._send("PaymentVault", vault.functions.grantRole(role, _address(address)))
        return True

    def has_role(self, contract: str, role: str, account: str) -> bool:
        """Whether `account` holds `role` (its constant's name, e.g. "MINTER_ROLE", or
        "DEFAULT_ADMIN_ROLE") on `contract`: lets development paths skip what a handed-over operator
        may no longer do."""
        functions = self.contract(contract).functions
        role_id = bytes(32) if role == "DEFAULT_ADMIN_ROLE" else self._read(getattr(functions, role)())
        return self._read(functions.hasRole(role_id, _address(account)))

    def withdraw(self, voucher: WithdrawalVoucher, *, sender_key: str | None = None) -> TxResult:
        """Send `withdraw` with the voucher; the OPEN goes to the voucher's recipient whoever sends it."""
        sender = self._sender_for(sender_key) if sender_key else self._require_operator()
        call = self.contract("PaymentVault").functions.withdraw(*voucher.arguments())
        return self._send("PaymentVault", call, sender=sender)

    def withdraw_calldata(self, voucher: WithdrawalVoucher) -> str:
        """The transaction data of `withdraw` with this voucher, for a browser wallet to send."""
        return self.contract("PaymentVault").encode_abi("withdraw", args=list(voucher.arguments()))

    def deposit_calldata(self, *, account_id: bytes, amount: int) -> tuple[str, str]:
        """The data of `approve(vault, amount)` on the token and of `deposit(account_id, amount)` on the
        vault: the two transactions a browser wallet sends to deposit."""
        vault = self.contract("PaymentVault")
        approve = self.contract("OpenToken").encode_abi("approve", args=[vault.address, amount])
        return approve, vault.encode_abi("deposit", args=[account_id, amount])

    def nonce_used(self, nonce: int, *, block: int | str = "latest") -> bool:
        """Whether a withdrawal voucher's nonce was spent, as of `block`."""
        return self._read(self.contract("PaymentVault").functions.nonceUsed(nonce), block=block)

    # --- Blocks --------------------------------------------------------------------------------------
    def block_number(self) -> int:
        with outages_as_chain_unavailable(self.rpc_url):
            return self.web3.eth.block_number

    def block_timestamp(self, block: int | str = "latest") -> int:
        with outages_as_chain_unavailable(self.rpc_url):
            return self.web3.eth.get_block(block)["timestamp"]

    def _chain_id(self) -> int:
        with outages_as_chain_unavailable(self.rpc_url):
            return self.web3.eth.chain_id

    # --- Events --------------------------------------------------------------------------------------
    def events(
        self,
        contract: str,
        event: str,
        *,
        from_block: int | None = None,
        to_block: int | str = "latest",
        argument_filters: dict[str, Any] | None = None,
    ) -> list[ChainEvent]:
        """Past events of one kind since the deployment (or `from_block`) up to `to_block`, oldest first,
        each with its transaction hash and block."""
        start = self.deployment.block_number if from_block is None and self.deployment else (from_block or 0)
        event_type = self.contract(contract).events[event]()
        with outages_as_chain_unavailable(self.rpc_url):
            end = self.web3.eth.block_number if to_block == "latest" else to_block
            if start > end:  # nodes refuse a range that starts after the head; it holds nothing anyway
                return []
            logs = event_type.get_logs(
                from_block=start, to_block=end, argument_filters=argument_filters or None
            )
        return [
            ChainEvent(
                contract,
                event,
                _plain(log["args"]),
                log["logIndex"],
                tx_hash="0x" + bytes(log["transactionHash"]).hex(),
                block_number=log["blockNumber"],
            )
            for log in logs
        ]

    # --- Internals -----------------------------------------------------------------------------------
    def _sender_for(self, key: str) -> TransactionSender:
        account: LocalAccount = Account.from_key(key)
        if account.address not in self._senders:
            self._senders[account.address] = TransactionSender(
                self.web3, account, rpc_url=self.rpc_url, receipt_timeout_s=self.receipt_timeout_s
            )
        return self._senders[account.address]

    def _require_operator(self) -> TransactionSender:
        if self._operator is None:
            raise OperatorKeyMissing("this ChainClient was built without operator_key: it can only read")
        return self._operator

    def _send(
        self, contract: str, call: ContractFunction, *, sender: TransactionSender | None = None
    ) -> TxResult:
        receipt = (sender or self._require_operator()).send(call, contract=contract)
        return TxResult(
            tx_hash=receipt["transactionHash"].to_0x_hex(),
            block_number=receipt["blockNumber"],
            gas_used=receipt["gasUsed"],
            events=tuple(self._decode_logs(receipt["logs"])),
        )

    def _decode_logs(self, logs: Sequence[Any]) -> list[ChainEvent]:
        decoded = []
        for log in logs:
            if not log["topics"]:
                continue
            known = self._event_index.get((Web3.to_checksum_address(log["address"]), bytes(log["topics"][0])))
            if known is None:
                continue
            contract, event = known
            data = event.process_log(log)
            decoded.append(
                ChainEvent(
                    contract,
                    data["event"],
                    _plain(data["args"]),
                    log["logIndex"],
                    tx_hash="0x" + bytes(log["transactionHash"]).hex(),
                    block_number=log["blockNumber"],
                )
            )
        return decoded

    def _simulate(self, contract: str, call: ContractFunction, *, sender: str) -> ContractReverted | None:
        """The revert `call` would meet if `sender` sent it now, or None; sends nothing."""
        with outages_as_chain_unavailable(self.rpc_url):
            try:
                call.call({"from": sender})
            except ContractLogicError as error:
                return decode_revert(error, contract=contract, function=call.fn_name)
        return None

    def _read(self, call: ContractFunction, *, block: int | str = "latest") -> Any:
        with outages_as_chain_unavailable(self.rpc_url):
            try:
                return call.call(block_identifier=block)
            except ContractLogicError as error:
                names = {contract.address: name for name, contract in self._contracts.items()}
                contract = names.get(call.address, call.address)
                raise decode_revert(error, contract=contract, function=call.fn_name) from error


def _address(value: str) -> str:
    return Web3.to_checksum_address(value)


def _plain(value: Any) -> Any:
    """web3's AttributeDicts and HexBytes as plain dicts, tuples and bytes, for callers and tests."""
    if isinstance(value, dict) or hasattr(value, "items"):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return tuple(_plain(item) for item in value)
    if isinstance(value, bytes):
        return bytes(value)
    return value
