// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

/// @title Prepaid OPEN balances that pay for inference: deposits in, epoch charges out, withdrawals by voucher.
/// @notice Balances are kept per platform account, a 32-byte id the platform gives each user (random, so that
/// the chain does not tell who is who), not per wallet: a user may deposit from any wallet, change the wallet
/// they withdraw to, and the balance here stays the one the platform bills. For every account
///     balanceOf = deposits - charges of committed epochs - withdrawals,
/// and this contract never lets it go below zero: the settlement contract can move an epoch's charges out only
/// when each debit is covered and the debits add up exactly to the epoch's total, and a withdrawal needs a
/// voucher signed by the platform (which first reserves the amount in its own ledger) and is refused above
/// the balance. So the platform can never bill more than was deposited, nor a user withdraw what was spent.
/// Shares earned by people who have no wallet to be paid at yet are moved, when their epoch is committed, into
/// one account, HELD_EARNINGS, that nobody can deposit into or withdraw from: only a later epoch releases them
/// into its payouts. So its balance is, at every commit, what the platform holds for people.
contract PaymentVault is AccessControl, EIP712 {
    using SafeERC20 for IERC20;

    /// Signs withdrawal vouchers (the platform's operator).
    bytes32 public constant SIGNER_ROLE = keccak256("SIGNER_ROLE");
    /// Moves committed epochs' charges out (the AttributionSettlement contract, and nothing else).
    bytes32 public constant SETTLEMENT_ROLE = keccak256("SETTLEMENT_ROLE");
    bytes32 public constant WITHDRAWAL_TYPEHASH = keccak256(
        "Withdrawal(bytes32 account,address recipient,uint256 amount,uint256 nonce,uint256 deadline)"
    );

    /// The account of earnings held for people with no wallet yet (see the contract's notice).
    bytes32 public constant HELD_EARNINGS = keccak256("modelfactory:held-earnings");

    /// One account's charges in an epoch.
    struct Debit {
        bytes32 account;
        uint256 amount;
    }

    /// How an epoch is paid for: its users' charges (`debits`), less the shares it holds for people with no
    /// wallet (`held`, moved into HELD_EARNINGS), plus the shares held by earlier epochs that it pays out
    /// (`released`, taken from HELD_EARNINGS). That sum is the epoch's total, to the base unit.
    struct Funding {
        Debit[] debits;
        uint256 held;
        uint256 released;
    }

    IERC20 public immutable token;
    /// Deposits so far; each deposit's id is its number, from 1.
    uint256 public depositCount;
    /// The sum of every balance: this contract's OPEN never falls below it.
    uint256 public totalBalance;

    mapping(bytes32 account => uint256) public balanceOf;
    mapping(uint256 nonce => bool) public nonceUsed;

    event Deposited(bytes32 indexed account, address indexed from, uint256 amount, uint256 indexed depositId);
    event Charged(uint64 indexed epoch, bytes32 indexed account, uint256 amount);
    event EpochCharged(uint64 indexed epoch, uint256 total, uint256 debitCount, uint256 held, uint256 released);
    event Withdrawn(bytes32 indexed account, address indexed recipient, uint256 amount, uint256 indexed nonce);

    error ZeroAddress();
    error ZeroAccount();
    error ZeroAmount();
    error VoucherExpired(uint256 deadline, uint256 timestamp);
    error NonceAlreadyUsed(uint256 nonce);
    error InvalidVoucherSigner(address signer);
    error WithdrawalExceedsBalance(bytes32 account, uint256 balance, uint256 amount);
    error DebitExceedsBalance(bytes32 account, uint256 balance, uint256 amount);
    error DebitsDoNotMatchTotal(uint256 debited, uint256 held, uint256 released, uint256 total);
    error ReleaseExceedsHeld(uint256 heldBefore, uint256 released);
    error HeldEarningsAccount();

    constructor(address admin, address signer, IERC20 openToken) EIP712("ModelFactory PaymentVault", "1") {
        if (admin == address(0) || signer == address(0) || address(openToken) == address(0)) {
            revert ZeroAddress();
        }
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(SIGNER_ROLE, signer);
        token = openToken;
    }

    /// @notice Add `amount` OPEN (approved to this contract beforehand) to `account`'s balance. Anyone may
    /// pay into any account: the platform credits the deposit to the account's owner once it is confirmed.
    function deposit(bytes32 account, uint256 amount) external returns (uint256 depositId) {
        if (account == bytes32(0)) revert ZeroAccount();
        if (account == HELD_EARNINGS) revert HeldEarningsAccount();
        if (amount == 0) revert ZeroAmount();
        depositId = ++depositCount;
        balanceOf[account] += amount;
        totalBalance += amount;
        emit Deposited(account, msg.sender, amount, depositId);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Pay `amount` of `account`'s balance to `recipient`, with a voucher the platform signed after
    /// reserving the amount in its ledger. Anyone may send it; the OPEN always goes to `recipient`. A voucher
    /// works once (its nonce is spent) and only until `deadline`; after that the platform may release the
    /// reservation, because from then on this function refuses the voucher.
    function withdraw(
        bytes32 account,
        address recipient,
        uint256 amount,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external {
        if (recipient == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        if (account == HELD_EARNINGS) revert HeldEarningsAccount();
        if (block.timestamp > deadline) revert VoucherExpired(deadline, block.timestamp);
        if (nonceUsed[nonce]) revert NonceAlreadyUsed(nonce);
        address signer = ECDSA.recoverCalldata(
            withdrawalDigest(account, recipient, amount, nonce, deadline), signature
        );
        if (!hasRole(SIGNER_ROLE, signer)) revert InvalidVoucherSigner(signer);
        uint256 balance = balanceOf[account];
        if (amount > balance) revert WithdrawalExceedsBalance(account, balance, amount);
        nonceUsed[nonce] = true;
        balanceOf[account] = balance - amount;
        totalBalance -= amount;
        emit Withdrawn(account, recipient, amount, nonce);
        token.safeTransfer(recipient, amount);
    }

    /// @notice Move a committed epoch's total to the settlement contract, which pays it out by proof: each
    /// debit must be covered by its account's balance, the released shares by what earlier epochs held, and
    /// debits - held + released must be the total exactly, so an epoch pays out what its users were charged
    /// (and what it releases), no more, and from nobody else.
    function chargeEpoch(uint64 epoch, Funding calldata funding, uint256 total) external onlyRole(SETTLEMENT_ROLE) {
        uint256 debited;
        for (uint256 i = 0; i < funding.debits.length; ++i) {
            Debit calldata debit = funding.debits[i];
            uint256 balance = balanceOf[debit.account];
            if (debit.amount > balance) revert DebitExceedsBalance(debit.account, balance, debit.amount);
            balanceOf[debit.account] = balance - debit.amount;
            debited += debit.amount;
            emit Charged(epoch, debit.account, debit.amount);
        }
        if (debited + funding.released != total + funding.held) {
            revert DebitsDoNotMatchTotal(debited, funding.held, funding.released, total);
        }
        uint256 heldBefore = balanceOf[HELD_EARNINGS];
        if (funding.released > heldBefore) revert ReleaseExceedsHeld(heldBefore, funding.released);
        balanceOf[HELD_EARNINGS] = heldBefore - funding.released + funding.held;
        totalBalance -= total;
        emit EpochCharged(epoch, total, funding.debits.length, funding.held, funding.released);
        token.safeTransfer(msg.sender, total);
    }

    /// @notice The EIP-712 digest the platform signs for a withdrawal voucher (domain: this contract on this
    /// chain, so a voucher is good nowhere else).
    function withdrawalDigest(bytes32 account, address recipient, uint256 amount, uint256 nonce, uint256 deadline)
        public
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(
            keccak256(abi.encode(WITHDRAWAL_TYPEHASH, account, recipient, amount, nonce, deadline))
        );
    }
}
