"""Deploying the five contracts once per chain, and finding them again afterwards.

The addresses are stored in `<var_dir>/chain/deployment-<chain id>.json`. `ensure_deployed` reuses
that deployment when the chain id matches, the code at every address is exactly our compiled contract
(a development chain restarted without its state has no code there, or another contract's, and gets a
fresh deployment) and the settlement contract is wired to the stored vault; otherwise it deploys all five
and writes the file. So `make run` can call it on every start.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from web3 import Web3

from contracts.artifacts import CONTRACT_NAMES, load_artifact, recorded_source_hash
from contracts.errors import DeploymentOutdated
from contracts.transactions import TransactionSender, outages_as_chain_unavailable
from primitives.atomic_files import replace_file_atomically

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    source_hash: str
    addresses: dict[str, str]  # contract name -> checksummed address
    block_number: int  # the block of the first deployment transaction: where to start scanning events
    deployer: str

    def address_of(self, contract: str) -> str:
        return self.addresses[contract]


def deployment_path(var_dir: Path, chain_id: int) -> Path:
    return Path(var_dir) / "chain" / f"deployment-{chain_id}.json"


def read_deployment(path: Path) -> Deployment | None:
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    return Deployment(
        chain_id=data["chain_id"],
        source_hash=data["source_hash"],
        addresses=dict(data["addresses"]),
        block_number=data["block_number"],
        deployer=data["deployer"],
    )


def write_deployment(path: Path, deployment: Deployment) -> None:
    """Atomically: a crash mid-write must not leave a half file that hides a live deployment."""
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_file_atomically(path, json.dumps(asdict(deployment), indent=2) + "\n")


def is_live(web3: Web3, deployment: Deployment) -> bool:
    """Whether this chain is the deployment's chain, every address holds our compiled contract, and the
    settlement contract draws on the stored vault, which lets it (its immutables are masked in the code
    comparison, so a file naming another vault would otherwise pass)."""
    if web3.eth.chain_id != deployment.chain_id or set(deployment.addresses) != set(CONTRACT_NAMES):
        return False
    if not all(
        load_artifact(name).matches_runtime_code(bytes(web3.eth.get_code(Web3.to_checksum_address(address))))
        for name, address in deployment.addresses.items()
    ):
        return False
    vault_address = deployment.address_of("PaymentVault")
    settlement_address = deployment.address_of("AttributionSettlement")
    settlement = web3.eth.contract(address=settlement_address, abi=load_artifact("AttributionSettlement").abi)
    vault = web3.eth.contract(address=vault_address, abi=load_artifact("PaymentVault").abi)
    return (
        settlement.functions.vault().call() == vault_address
        and vault.functions.hasRole(vault.functions.SETTLEMENT_ROLE().call(), settlement_address).call()
    )


def find_deployment(web3: Web3, var_dir: Path, *, rpc_url: str) -> Deployment | None:
    """The stored deployment if it is live on this chain, else None. Reads only."""
    with outages_as_chain_unavailable(rpc_url):
        deployment = read_deployment(deployment_path(var_dir, web3.eth.chain_id))
        if deployment is None or not is_live(web3, deployment):
            return None
        return deployment


def ensure_deployed(
    web3: Web3, sender: TransactionSender, var_dir: Path, *, replace_outdated: bool = False
) -> Deployment:
    """The live deployment on this chain, deploying (once) when there is none.

    A live deployment of other sources than contracts/build/ raises `DeploymentOutdated` unless
    `replace_outdated`: the operator decides when to abandon on-chain records, never this function.
    """
    deployment = find_deployment(web3, var_dir, rpc_url=sender.rpc_url)
    current_hash = recorded_source_hash()
    if deployment is not None:
        if deployment.source_hash == current_hash:
            return deployment
        if not replace_outdated:
            raise DeploymentOutdated(
                f"the contracts at {deployment_path(var_dir, deployment.chain_id)} were built from sources "
                f"{deployment.source_hash[:12]}, contracts/build/ holds {current_hash[:12]}: pass "
                "replace_outdated=True on a development chain, or deploy and migrate deliberately"
            )
        logger.warning("replacing outdated contract deployment on chain %s", deployment.chain_id)
    deployment = deploy_contracts(web3, sender)
    write_deployment(deployment_path(var_dir, deployment.chain_id), deployment)
    return deployment


def deploy_contracts(web3: Web3, sender: TransactionSender) -> Deployment:
    """Deploy all five contracts with the sender as admin, registrar, minter, voucher signer and settlement
    operator, and let the settlement contract (alone) move epoch charges out of the vault.

    The operator must be admin here to wire the contracts together; on a real chain hand the admin and
    minter roles to a cold key and the signer role to the voucher key right afterwards
    (`contracts.role_handover`, `manage.py hand_over_chain_roles`), leaving the hot key only registering
    and committing. A crash before the file is written leaves no stored deployment, so the next run
    deploys afresh rather than half-wired.
    """
    operator = sender.address
    addresses: dict[str, str] = {}

    def deploy(name: str, *args: object) -> int:
        artifact = load_artifact(name)
        receipt = sender.deploy(artifact.abi, artifact.bytecode, *args, contract=name)
        addresses[name] = Web3.to_checksum_address(receipt["contractAddress"])
        return receipt["blockNumber"]

    first_block = deploy("OpenToken", operator, operator)
    deploy("DatanetRegistry", operator, operator)
    deploy("ModelRegistry", operator, operator, addresses["DatanetRegistry"])
    deploy("PaymentVault", operator, operator, addresses["OpenToken"])
    deploy("AttributionSettlement", operator, operator, addresses["PaymentVault"])
    vault = web3.eth.contract(address=addresses["PaymentVault"], abi=load_artifact("PaymentVault").abi)
    with outages_as_chain_unavailable(sender.rpc_url):
        settlement_role = vault.functions.SETTLEMENT_ROLE().call()
    grant = vault.functions.grantRole(settlement_role, addresses["AttributionSettlement"])
    sender.send(grant, contract="PaymentVault")
    with outages_as_chain_unavailable(sender.rpc_url):
        chain_id = web3.eth.chain_id
    logger.info("deployed contracts on chain %s: %s", chain_id, addresses)
    return Deployment(
        chain_id=chain_id,
        source_hash=recorded_source_hash(),
        addresses=addresses,
        block_number=first_block,
        deployer=operator,
    )
