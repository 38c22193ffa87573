// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {PaymentVault} from "./PaymentVault.sol";

/// @title Pays contributors, developers and operators what inferences earned, one epoch at a time.
/// @notice Per epoch the operator commits the Merkle root of (account, amount) payouts, the root of the
/// epoch's inference receipts and the total, with how it is funded: what each paying account was charged,
/// less the shares held for people with no wallet yet, plus earlier held shares it pays out. In the same
/// transaction the PaymentVault moves exactly that here (refusing when a debit or a release is not covered
/// or the sum is not the total). So a committed epoch is always fully paid for, and only by
/// what users deposited and were charged: nothing is minted for payouts and the operator's OPEN is untouched. Anyone may then claim an account's amount with a proof; the
/// tokens always go to the account itself, never to the caller. Leaves are OpenZeppelin StandardMerkleTree
/// leaves: keccak256(bytes.concat(keccak256(abi.encode(account, amount)))), double-hashed so that no
/// inner node can pass for a leaf.
/// Epochs are numbered 1, 2, 3... and must be committed in that order, exactly once each, so that a
/// settlement job re-run after a crash can neither commit an epoch twice nor skip one.
contract AttributionSettlement is AccessControl {
    using SafeERC20 for IERC20;

    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    struct Epoch {
        bytes32 payoutRoot;
        bytes32 receiptsRoot;
        uint256 total;
        uint256 claimed;
        uint32 receiptCount;
        uint64 committedAt;
    }

    IERC20 public immutable token;
    PaymentVault public immutable vault;
    uint64 public lastEpoch;

    mapping(uint64 epoch => Epoch) private _epochs;
    mapping(uint64 epoch => mapping(address account => bool)) private _claimed;

    event EpochCommitted(
        uint64 indexed epoch,
        bytes32 payoutRoot,
        bytes32 receiptsRoot,
        uint256 total,
        uint32 receiptCount,
        address indexed operator
    );
    event Claimed(uint64 indexed epoch, address indexed account, uint256 amount, address by);

    error ZeroAddress();
    error EmptyPayoutRoot();
    error EpochAlreadyCommitted(uint64 epoch);
    error EpochOutOfOrder(uint64 expected, uint64 given);
    error UnknownEpoch(uint64 epoch);
    error AlreadyClaimed(uint64 epoch, address account);
    error InvalidProof(uint64 epoch, address account, uint256 amount);
    error ClaimExceedsEpochTotal(uint64 epoch, uint256 remaining, uint256 amount);

    /// The vault must grant this contract its SETTLEMENT_ROLE (deployment.py does, right after deploying).
    constructor(address admin, address operator, PaymentVault paymentVault) {
        if (admin == address(0) || operator == address(0) || address(paymentVault) == address(0)) {
            revert ZeroAddress();
        }
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(OPERATOR_ROLE, operator);
        vault = paymentVault;
        token = paymentVault.token();
    }

    /// @notice Commit epoch `epoch` (must be lastEpoch + 1) and have the vault move `total` OPEN here as
    /// `funding` says: debits - held + released must be `total` exactly.
    function commitEpoch(
        uint64 epoch,
        bytes32 payoutRoot,
        bytes32 receiptsRoot,
        uint256 total,
        uint32 receiptCount,
        PaymentVault.Funding calldata funding
    ) external onlyRole(OPERATOR_ROLE) {
        if (epoch <= lastEpoch) revert EpochAlreadyCommitted(epoch);
        if (epoch != lastEpoch + 1) revert EpochOutOfOrder(lastEpoch + 1, epoch);
        if (payoutRoot == bytes32(0)) revert EmptyPayoutRoot();
        lastEpoch = epoch;
        _epochs[epoch] = Epoch({
            payoutRoot: payoutRoot,
            receiptsRoot: receiptsRoot,
            total: total,
            claimed: 0,
            receiptCount: receiptCount,
            committedAt: uint64(block.timestamp)
        });
        emit EpochCommitted(epoch, payoutRoot, receiptsRoot, total, receiptCount, msg.sender);
        vault.chargeEpoch(epoch, funding, total);
    }

    /// @notice Pay `account` its `amount` for `epoch`. Anyone may send this; the tokens go to `account`.
    function claim(uint64 epoch, address account, uint256 amount, bytes32[] calldata proof) external {
        Epoch storage committed = _epochs[epoch];
        if (committed.payoutRoot == bytes32(0)) revert UnknownEpoch(epoch);
        if (_claimed[epoch][account]) revert AlreadyClaimed(epoch, account);
        if (!MerkleProof.verifyCalldata(proof, committed.payoutRoot, _leaf(account, amount))) {
            revert InvalidProof(epoch, account, amount);
        }
        // Only reachable if the operator committed a tree whose amounts add up to more than its total:
        // the epoch's funds are never allowed to pay for another epoch's claims.
        uint256 remaining = committed.total - committed.claimed;
        if (amount > remaining) revert ClaimExceedsEpochTotal(epoch, remaining, amount);
        _claimed[epoch][account] = true;
        committed.claimed += amount;
        emit Claimed(epoch, account, amount, msg.sender);
        token.safeTransfer(account, amount);
    }

    /// @notice The committed epoch, or an all-zero record when it was not committed.
    function epochInfo(uint64 epoch) external view returns (Epoch memory) {
        return _epochs[epoch];
    }

    function isClaimed(uint64 epoch, address account) external view returns (bool) {
        return _claimed[epoch][account];
    }

    /// @notice Whether the proof shows `amount` for `account` under the committed root of `epoch`: what the
    /// earnings page checks before it marks a figure "verified on chain".
    function verifyPayout(uint64 epoch, address account, uint256 amount, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        bytes32 root = _epochs[epoch].payoutRoot;
        return root != bytes32(0) && MerkleProof.verifyCalldata(proof, root, _leaf(account, amount));
    }

    function _leaf(address account, uint256 amount) private pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(account, amount))));
    }
}
