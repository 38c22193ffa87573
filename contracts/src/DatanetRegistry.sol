// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// @title Public record of datanets and of the exact rows in each published version.
/// @notice A datanet is identified by a 32-byte id chosen by the platform (a hash of its own key), so that a
/// registration re-sent after a crash is recognised instead of duplicated. Each version commits to the
/// Merkle root of its row hashes and its row count; versions are numbered 1, 2, 3... and must be published
/// in that order, for the same reason. Only a registrar publishes: the platform computes each version's rows
/// root from its own record of the rows, and a root published by the owner could differ from that record.
contract DatanetRegistry is AccessControl {
    /// @notice Accounts that may register datanets and publish their versions (the platform's operator).
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");

    struct Datanet {
        address owner;
        uint32 versionCount;
        uint64 registeredAt;
    }

    struct Version {
        bytes32 rowsRoot;
        uint64 rowCount;
        uint64 publishedAt;
    }

    mapping(bytes32 datanetId => Datanet) private _datanets;
    mapping(bytes32 datanetId => mapping(uint32 version => Version)) private _versions;

    event DatanetRegistered(bytes32 indexed datanetId, address indexed owner, string name);
    event DatanetVersionPublished(
        bytes32 indexed datanetId, uint32 indexed version, bytes32 rowsRoot, uint64 rowCount, address publisher
    );

    error ZeroAddress();
    error EmptyDatanetId();
    error DatanetAlreadyRegistered(bytes32 datanetId);
    error UnknownDatanet(bytes32 datanetId);
    error VersionOutOfOrder(bytes32 datanetId, uint32 expected, uint32 given);
    error EmptyVersion(bytes32 datanetId);

    constructor(address admin, address registrar) {
        if (admin == address(0) || registrar == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(REGISTRAR_ROLE, registrar);
    }

    function registerDatanet(bytes32 datanetId, address owner, string calldata name)
        external
        onlyRole(REGISTRAR_ROLE)
    {
        if (datanetId == bytes32(0)) revert EmptyDatanetId();
        if (owner == address(0)) revert ZeroAddress();
        if (_datanets[datanetId].owner != address(0)) revert DatanetAlreadyRegistered(datanetId);
        _datanets[datanetId] = Datanet({owner: owner, versionCount: 0, registeredAt: uint64(block.timestamp)});
        emit DatanetRegistered(datanetId, owner, name);
    }

    /// @notice Publish `version` (which must be the next number) of a datanet: registrars only, not its owner.
    function publishVersion(bytes32 datanetId, uint32 version, bytes32 rowsRoot, uint64 rowCount)
        external
        onlyRole(REGISTRAR_ROLE)
    {
        Datanet storage entry = _datanets[datanetId];
        if (entry.owner == address(0)) revert UnknownDatanet(datanetId);
        if (version != entry.versionCount + 1) {
            revert VersionOutOfOrder(datanetId, entry.versionCount + 1, version);
        }
        if (rowsRoot == bytes32(0) || rowCount == 0) revert EmptyVersion(datanetId);
        entry.versionCount = version;
        _versions[datanetId][version] =
            Version({rowsRoot: rowsRoot, rowCount: rowCount, publishedAt: uint64(block.timestamp)});
        emit DatanetVersionPublished(datanetId, version, rowsRoot, rowCount, msg.sender);
    }

    function datanet(bytes32 datanetId) external view returns (Datanet memory) {
        return _datanets[datanetId];
    }

    /// @notice The published version, or an all-zero record when it does not exist.
    function datanetVersion(bytes32 datanetId, uint32 version) external view returns (Version memory) {
        return _versions[datanetId][version];
    }

    function versionExists(bytes32 datanetId, uint32 version) public view returns (bool) {
        return version != 0 && version <= _datanets[datanetId].versionCount;
    }
}
