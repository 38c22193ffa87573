"""Zip archives written byte by byte, so that a test can make one lie about its members' sizes.

`zipfile` only writes honest archives. An attacker's zip is whatever bytes they send: a directory entry
declaring 4 KB for a member whose data inflates to a gigabyte, or 5 GB of zeros in 5 MB. These build such
archives without ever holding the decompressed data: deflate's full flush makes the compressed form of
one mebibyte of zeros a block that can be repeated as many times as wanted.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

MEBIBYTE = 1 << 20
ZIP_DEFLATED = 8
_ZIP64_MARK = 0xFFFFFFFF


def deflated_zeros(mebibytes: int) -> bytes:
    """A raw deflate stream that inflates to ``mebibytes`` MiB of zeros, about a thousand times smaller."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(MEBIBYTE)) + compressor.flush(zlib.Z_FULL_FLUSH)
    return block * mebibytes + zlib.compressobj(9, zlib.DEFLATED, -15).flush()


@dataclass(frozen=True)
class RawMember:
    name: str
    data: bytes  # as stored: raw deflate for ZIP_DEFLATED
    declared_size: int  # what the directory says it unpacks to, true or not
    crc: int = 0
    method: int = ZIP_DEFLATED


def deflated(name: str, content: bytes) -> RawMember:
    """An honest member."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = compressor.compress(content) + compressor.flush()
    return RawMember(name, data, len(content), zlib.crc32(content))


def raw_zip(members: list[RawMember]) -> bytes:
    """A zip of ``members`` exactly as given (ZIP64 size fields where a declared size needs them)."""
    body, directory = bytearray(), bytearray()
    for member in members:
        name = member.name.encode()
        large = member.declared_size >= _ZIP64_MARK
        sizes = (_ZIP64_MARK, _ZIP64_MARK) if large else (len(member.data), member.declared_size)
        extra = struct.pack("<HHQQ", 1, 16, member.declared_size, len(member.data)) if large else b""
        version = 45 if large else 20
        offset = len(body)
        body += struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            version,
            0,
            member.method,
            0,
            0x21,
            member.crc,
            *sizes,
            len(name),
            len(extra),
        )
        body += name + extra + member.data
        directory += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            version,
            version,
            0,
            member.method,
            0,
            0x21,
            member.crc,
            *sizes,
            len(name),
            len(extra),
            0,
            0,
            0,
            0,
            offset,
        )
        directory += name + extra
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(directory), len(body), 0)
    return bytes(body + directory + end)
