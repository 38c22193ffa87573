// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {DatanetRegistry} from "./DatanetRegistry.sol";

/// @title Public record of published adapters: who built them, from which data, and who may use them.
/// @notice An adapter names its base model, the exact datanet versions it was trained on (checked against
/// the DatanetRegistry, so provenance can never point at data that was not published) and the hash of its
/// weights, so anyone holding the file can check it is the one registered.
contract ModelRegistry is AccessControl {
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");

    /// Public: anyone may use it. AllowList: only granted accounts. PayPerUse: anyone may use it and every
    /// inference is billed (fees are settled by AttributionSettlement); grants are kept under every policy
    /// so that switching back to AllowList restores them.
    enum AccessPolicy {
        Public,
        AllowList,
        PayPerUse
    }

    struct DatanetVersionRef {
        bytes32 datanetId;
        uint32 version;
    }

    struct Adapter {
        address developer;
        AccessPolicy policy;
        uint64 registeredAt;
        bytes32 artifactHash;
        string baseModel;
        DatanetVersionRef[] datanetVersions;
    }

    DatanetRegistry public immutable datanets;

    mapping(bytes32 adapterId => Adapter) private _adapters;
    mapping(bytes32 adapterId => mapping(address account => bool)) private _granted;

    event AdapterRegistered(
        bytes32 indexed adapterId,
        address indexed developer,
        string baseModel,
        bytes32 artifactHash,
        AccessPolicy policy,
        DatanetVersionRef[] datanetVersions
    );
    event AccessPolicyChanged(bytes32 indexed adapterId, AccessPolicy policy, address by);
    event AccessGranted(bytes32 indexed adapterId, address indexed account, address by);
    event AccessRevoked(bytes32 indexed adapterId, address indexed account, address by);

    error ZeroAddress();
    error EmptyAdapterId();
    error EmptyArtifactHash();
    error AdapterAlreadyRegistered(bytes32 adapterId);
    error UnknownAdapter(bytes32 adapterId);
    error NotAdapterDeveloperOrRegistrar(bytes32 adapterId, address caller);
    error UnknownDatanetVersion(bytes32 datanetId, uint32 version);

    constructor(address admin, address registrar, DatanetRegistry datanetRegistry) {
        if (admin == address(0) || registrar == address(0) || address(datanetRegistry) == address(0)) {
            revert ZeroAddress();
        }
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(REGISTRAR_ROLE, registrar);
        datanets = datanetRegistry;
    }

    function registerAdapter(
        bytes32 adapterId,
        address developer,
        string calldata baseModel,
        DatanetVersionRef[] calldata datanetVersions,
        bytes32 artifactHash,
        AccessPolicy policy
    ) external onlyRole(REGISTRAR_ROLE) {
        if (adapterId == bytes32(0)) revert EmptyAdapterId();
        if (developer == address(0)) revert ZeroAddress();
        if (artifactHash == bytes32(0)) revert EmptyArtifactHash();
        Adapter storage entry = _adapters[adapterId];
        if (entry.developer != address(0)) revert AdapterAlreadyRegistered(adapterId);
        entry.developer = developer;
        entry.policy = policy;
        entry.registeredAt = uint64(block.timestamp);
        entry.artifactHash = artifactHash;
        entry.baseModel = baseModel;
        for (uint256 i = 0; i < datanetVersions.length; ++i) {
            DatanetVersionRef calldata ref = datanetVersions[i];
            if (!datanets.versionExists(ref.datanetId, ref.version)) {
                revert UnknownDatanetVersion(ref.datanetId, ref.version);
            }
            entry.datanetVersions.push(ref);
        }
        emit AdapterRegistered(adapterId, developer, baseModel, artifactHash, policy, datanetVersions);
    }

    function setAccessPolicy(bytes32 adapterId, AccessPolicy policy) external {
        _requireDeveloperOrRegistrar(adapterId);
        _adapters[adapterId].policy = policy;
        emit AccessPolicyChanged(adapterId, policy, msg.sender);
    }

    /// @notice Idempotent: granting twice leaves one grant and emits one event, so a retried call is harmless.
    function grantAccess(bytes32 adapterId, address account) external {
        _requireDeveloperOrRegistrar(adapterId);
        if (account == address(0)) revert ZeroAddress();
        if (!_granted[adapterId][account]) {
            _granted[adapterId][account] = true;
            emit AccessGranted(adapterId, account, msg.sender);
        }
    }

    /// @notice Idempotent, like grantAccess.
    function revokeAccess(bytes32 adapterId, address account) external {
        _requireDeveloperOrRegistrar(adapterId);
        if (_granted[adapterId][account]) {
            _granted[adapterId][account] = false;
            emit AccessRevoked(adapterId, account, msg.sender);
        }
    }

    /// @notice Whether `account` may run inferences on the adapter under its current policy.
    function canUse(bytes32 adapterId, address account) external view returns (bool) {
        Adapter storage entry = _adapters[adapterId];
        if (entry.developer == address(0)) return false;
        if (entry.policy == AccessPolicy.AllowList) {
            return account == entry.developer || _granted[adapterId][account];
        }
        return true;
    }

    function isGranted(bytes32 adapterId, address account) external view returns (bool) {
        return _granted[adapterId][account];
    }

    /// @notice The adapter, or an all-zero record (developer == address(0)) when it does not exist.
    function adapter(bytes32 adapterId) external view returns (Adapter memory) {
        return _adapters[adapterId];
    }

    function _requireDeveloperOrRegistrar(bytes32 adapterId) private view {
        address developer = _adapters[adapterId].developer;
        if (developer == address(0)) revert UnknownAdapter(adapterId);
        if (msg.sender != developer && !hasRole(REGISTRAR_ROLE, msg.sender)) {
            revert NotAdapterDeveloperOrRegistrar(adapterId, msg.sender);
        }
    }
}
