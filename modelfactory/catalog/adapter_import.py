"""Importing an existing PEFT adapter from a zip: safetensors only, checked against the base model.

The zip is the uploader's, so nothing it says is used before it is bounded. A 5 MB zip can hold 5 GB of
zeros, and the web process that takes the upload also serves every answer, so:

1. the upload arrives as a file on disk (Django's ``TemporaryUploadedFile``), never in memory;
2. the zip's central directory is read alone (`inspect_zip`): how many members, their declared sizes
   unpacked (each and in total) and their compression ratios are checked before a byte is decompressed;
3. only the two files an adapter needs are unpacked, streamed to disk under a running byte limit: a member
   that holds more than its directory entry declares is cut off at the declared size and refused;
4. the weights are parsed from the file with ``safetensors.safe_open``: names, shapes and ranks from its
   header first (ranks bounded by ``MODELFACTORY_ADAPTER_MAX_RANK``, shapes checked against the base
   model on the meta device), and only then are tensors read, by the engine's own servability check
   (`inference.adapter_weights.servability_problem`, against the modules the engine serves): what is
   published is what the engine can serve (LoRA, and DoRA with its magnitude vectors);
5. steps 3 and 4 run on a worker (`catalog.tasks.import_adapter`), never in the web process.

Pickle files (`.bin`, `.pt`, `.pkl`) can run code when loaded, so a zip holding one is refused outright.
"""

from __future__ import annotations

import json
import struct
import time
import zipfile
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath

from modelfactory.catalog.errors import AdapterImportRefused
from modelfactory.catalog.models import BaseModel
from primitives.atomic_files import staged_directory

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapter_model.safetensors"
REQUIRED = (CONFIG_FILE, WEIGHTS_FILE)

MAX_MEMBERS = 256
"""An adapter folder holds a handful of files (config, weights, README, tokenizer files)."""
MAX_DIRECTORY_BYTES = 1024 * 1024
"""The central directory itself, read before it is parsed: 256 entries with long names fit in far less."""
MAX_CONFIG_BYTES = 1024 * 1024
"""adapter_config.json is a few kilobytes; it is parsed as JSON in memory."""
MAX_COMPRESSION_RATIO = 100
"""Trained weights barely compress (about 1.1x), JSON about 5x, zeros about 1000x."""
RATIO_CHECKED_ABOVE_BYTES = 1024 * 1024
"""Below this a member cannot hurt whatever its ratio (a small config compresses well)."""
COPY_CHUNK_BYTES = 1024 * 1024
ALLOWED_COMPRESSION = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
FLOAT_DTYPES = {"F64", "F32", "F16", "BF16"}

_END_OF_DIRECTORY = struct.Struct("<4s4H2LH")
_END_OF_DIRECTORY_SIGNATURE = b"PK\x05\x06"
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_LOCAL_HEADER_SIGNATURE = b"PK\x03\x04"


def megabytes(n_bytes: int) -> str:
    return f"{n_bytes / 2**20:,.1f} MB"


@cache
def module_shapes(source: str) -> dict[str, tuple[int, int]]:
    """The base model's LoRA-able modules and their (in, out) shapes, from its config on the meta device."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from inference.base_model import locate_base_model
    from inference.lora_layers import linear_shape

    config = AutoConfig.from_pretrained(locate_base_model(source).path)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    return {name: shape for name, module in model.named_modules() if (shape := linear_shape(module))}


def served_module_shapes(source: str) -> dict[str, tuple[int, int]]:
    """The modules of the base model that the serving engine gives adapter slots (never lm_head)."""
    from inference.lora_layers import is_lora_target

    return {name: shape for name, shape in module_shapes(source).items() if is_lora_target(name)}


def servability_refusal(directory: Path, source: str, *, max_rank: int, name: str) -> str | None:
    """Why the serving engine could not serve the adapter `name` in `directory` on the base model at
    `source` (its config, weights, shapes and rank, read without loading the base's weights), or None."""
    from inference.adapter_weights import servability_problem

    return servability_problem(
        directory, module_shapes=served_module_shapes(source), max_rank=max_rank, name=name
    )


# --- 2. The central directory, before anything is decompressed ------------------------------------------
@dataclass(frozen=True)
class ZipPlan:
    """What will be unpacked: the directory entry of each file an adapter needs."""

    members: dict[str, zipfile.ZipInfo]


def _directory_extent(path: Path) -> tuple[int, int]:
    """(entries, bytes) of the central directory, from the end-of-directory record alone.

    `zipfile` builds an object per entry as it opens a zip, so a directory of millions of empty entries
    would cost memory before any check of ours could run; its extent is read here first.
    """
    size = path.stat().st_size
    tail_bytes = min(size, _END_OF_DIRECTORY.size + 65535)  # the record, then a comment of up to 64 KB
    with path.open("rb") as handle:
        handle.seek(size - tail_bytes)
        tail = handle.read(tail_bytes)
    start = tail.rfind(_END_OF_DIRECTORY_SIGNATURE)
    if start < 0 or len(tail) - start < _END_OF_DIRECTORY.size:
        raise AdapterImportRefused("this is not a zip file; upload a zip of the adapter's folder")
    fields = _END_OF_DIRECTORY.unpack_from(tail, start)
    entries, directory_bytes = fields[4], fields[5]
    if entries == 0xFFFF or directory_bytes == 0xFFFFFFFF:
        raise AdapterImportRefused(
            "the zip is a ZIP64 archive (over 65,535 files or 4 GB of directory); an adapter folder is a few "
            "files: zip just adapter_config.json and adapter_model.safetensors"
        )
    return entries, directory_bytes


def inspect_zip(path: Path, *, max_bytes: int) -> ZipPlan:
    """Check the zip from its central directory only; nothing is decompressed here.

    Refused: a file over ``max_bytes``; too many members; a member or all of them together declaring more
    than ``max_bytes`` unpacked; a large member compressed more than ``MAX_COMPRESSION_RATIO`` times (what
    a decompression bomb looks like); encrypted members or compression other than stored and deflate;
    pickle files; a zip without, or with two of, the files an adapter needs.
    """
    size = Path(path).stat().st_size
    if size > max_bytes:
        raise AdapterImportRefused(
            f"the zip is {megabytes(size)}; the limit is {megabytes(max_bytes)} (LoRA adapters are usually "
            "megabytes)"
        )
    entries, directory_bytes = _directory_extent(Path(path))
    if entries > MAX_MEMBERS or directory_bytes > MAX_DIRECTORY_BYTES:
        raise AdapterImportRefused(
            f"the zip holds {entries:,} files; an adapter folder holds a handful (at most {MAX_MEMBERS}): "
            "zip just the adapter's folder"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            infos = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError):
        raise AdapterImportRefused(
            "this is not a readable zip file; upload a zip of the adapter's folder"
        ) from None
    names = [PurePosixPath(info.filename) for info in infos]
    if pickled := [str(name) for name in names if name.suffix.lower() in PICKLE_SUFFIXES]:
        raise AdapterImportRefused(
            f"pickle files are refused because loading them can run code: {', '.join(pickled)}; "
            "save the adapter with safe_serialization=True (adapter_model.safetensors)"
        )
    for info in infos:
        _check_member(info, max_bytes=max_bytes)
    declared = sum(info.file_size for info in infos)
    if declared > max_bytes:
        raise AdapterImportRefused(
            f"the zip's files declare {megabytes(declared)} once unpacked; the limit is "
            f"{megabytes(max_bytes)}"
        )
    members: dict[str, zipfile.ZipInfo] = {}
    for required in REQUIRED:
        found = [info for info, name in zip(infos, names, strict=True) if name.name == required]
        if not found:
            raise AdapterImportRefused(f"the zip has no {required}; it must hold a PEFT adapter folder")
        if len(found) > 1:
            raise AdapterImportRefused(
                f"the zip holds {len(found)} files named {required} "
                f"({', '.join(i.filename for i in found)}); zip one adapter folder"
            )
        members[required] = found[0]
    if members[CONFIG_FILE].file_size > MAX_CONFIG_BYTES:
        raise AdapterImportRefused(
            f"{CONFIG_FILE} declares {megabytes(members[CONFIG_FILE].file_size)}; an adapter's config is a "
            "few kilobytes"
        )
    return ZipPlan(members=members)


def _check_member(info: zipfile.ZipInfo, *, max_bytes: int) -> None:
    if info.flag_bits & 0x1:
        raise AdapterImportRefused(f"{info.filename} is encrypted; zip the adapter without a password")
    if info.compress_type not in ALLOWED_COMPRESSION:
        raise AdapterImportRefused(
            f"{info.filename} uses compression method {info.compress_type}; zip it again with the usual "
            "deflate (or no compression)"
        )
    if info.file_size > max_bytes:
        raise AdapterImportRefused(
            f"{info.filename} declares {megabytes(info.file_size)} once unpacked; the limit is "
            f"{megabytes(max_bytes)}"
        )
    if info.file_size > RATIO_CHECKED_ABOVE_BYTES and info.file_size > MAX_COMPRESSION_RATIO * max(
        info.compress_size, 1
    ):
        raise AdapterImportRefused(
            f"{info.filename} would unpack {megabytes(info.compress_size)} into {megabytes(info.file_size)}, "
            f"more than {MAX_COMPRESSION_RATIO} times: adapter weights barely compress, so this is refused "
            "as a decompression bomb"
        )


# --- 3. Unpacking under a running limit -----------------------------------------------------------------
def extract_member(path: Path, info: zipfile.ZipInfo, target: Path, *, deadline: float) -> int:
    """Stream one member of the zip at ``path`` to ``target``, never past the size its entry declares.

    Inflated here with a bound on every step rather than through `zipfile`, so that the limit is ours to
    see: whatever the member's data holds, at most its declared size reaches the disk, and a member that
    would inflate further is cut off there and refused, as is one shorter than declared or with the wrong
    checksum. ``deadline`` (``time.monotonic()``) bounds the time, whatever pool runs the worker.
    """
    written, checksum = 0, 0

    def refuse_as_damaged(what: str) -> AdapterImportRefused:
        return AdapterImportRefused(
            f"{info.filename} is damaged in the zip ({what}); zip the adapter's folder again"
        )

    with Path(path).open("rb") as raw, Path(target).open("wb") as out:
        raw.seek(info.header_offset)
        header = raw.read(_LOCAL_HEADER.size)
        if len(header) < _LOCAL_HEADER.size or not header.startswith(_LOCAL_HEADER_SIGNATURE):
            raise refuse_as_damaged("its local header is missing")
        name_bytes, extra_bytes = _LOCAL_HEADER.unpack(header)[-2:]
        raw.seek(info.header_offset + _LOCAL_HEADER.size + name_bytes + extra_bytes)
        inflater = zlib.decompressobj(-zlib.MAX_WBITS) if info.compress_type == zipfile.ZIP_DEFLATED else None
        left_to_read = info.compress_size
        while left_to_read > 0:
            data = raw.read(min(COPY_CHUNK_BYTES, left_to_read))
            if not data:
                raise refuse_as_damaged("its data ends early")
            left_to_read -= len(data)
            while data:
                room = info.file_size - written
                if inflater is None:
                    chunk, data = data[: room + 1], data[room + 1 :]
                else:
                    try:
                        chunk = inflater.decompress(data, min(room + 1, COPY_CHUNK_BYTES))
                    except zlib.error as error:
                        raise refuse_as_damaged(str(error)) from None
                    data = inflater.unconsumed_tail
                out.write(chunk[:room])
                checksum = zlib.crc32(chunk[:room], checksum)
                written += min(len(chunk), room)
                if len(chunk) > room:
                    raise AdapterImportRefused(
                        f"{info.filename} holds more than the {info.file_size:,} bytes its zip entry "
                        "declares; it was cut off there. Zip the adapter's folder again"
                    )
                if not chunk:
                    break
            if time.monotonic() > deadline:
                raise AdapterImportRefused(
                    f"unpacking {info.filename} took longer than the time allowed for an import"
                )
    if (inflater is not None and not inflater.eof) or written != info.file_size:
        raise refuse_as_damaged(f"it holds {written:,} of the {info.file_size:,} bytes it declares")
    if checksum != info.CRC:
        raise refuse_as_damaged("its checksum does not match")
    return written


# --- 4. The weights, header first -------------------------------------------------------------------------
def check_weights_header(path: Path, shapes: dict[str, tuple[int, int]], *, max_rank: int) -> None:
    """Names, dtypes, shapes and ranks from the safetensors header, before any tensor is read.

    With ranks bounded and every shape tied to a module of the base model, what the tensors can cost in
    memory is bounded too (rank × (in + out) per module) whatever the file claims.
    """
    from safetensors import safe_open

    from inference.adapter_weights import lora_key

    try:
        with safe_open(str(path), framework="pt") as weights:
            headers = {key: weights.get_slice(key) for key in weights.keys()}  # noqa: SIM118
            described = {key: (tuple(part.get_shape()), part.get_dtype()) for key, part in headers.items()}
    except Exception as error:  # safetensors raises its own SafetensorError on a bad header
        raise AdapterImportRefused(f"{WEIGHTS_FILE} cannot be parsed as safetensors: {error}") from None
    for key, (shape, dtype) in described.items():
        parts = lora_key(key)
        if parts is None:
            raise AdapterImportRefused(
                f"{WEIGHTS_FILE} holds {key!r}, which is not a LoRA A/B matrix or DoRA magnitude of a linear "
                "layer (embedding LoRA and saved modules are not supported)"
            )
        module, which = parts
        if which == "magnitude":
            _check_magnitude_header(key, module, shape, dtype, shapes)
            continue
        if dtype not in FLOAT_DTYPES or len(shape) != 2:
            raise AdapterImportRefused(
                f"{key} is a {dtype} tensor of shape {shape}; LoRA weights are 2-D floats"
            )
        rank = shape[0] if which == "A" else shape[1]
        if rank > max_rank:
            raise AdapterImportRefused(
                f"{module} has rank {rank}; adapters of rank up to {max_rank} are served here. Train it with "
                f"r <= {max_rank}"
            )
        if module not in shapes:
            raise AdapterImportRefused(f"the adapter targets {module}, which the base model does not have")
        in_features, out_features = shapes[module]
        expected = (rank, in_features) if which == "A" else (out_features, rank)
        if shape != expected:
            raise AdapterImportRefused(
                f"{key} has shape {shape}, but the base module maps {in_features} -> {out_features}: the "
                "adapter was trained for another base model"
            )


def _check_magnitude_header(
    key: str, module: str, shape: tuple, dtype: str, shapes: dict[str, tuple[int, int]]
) -> None:
    """A DoRA magnitude: one float per output feature of its module."""
    if dtype not in FLOAT_DTYPES or len(shape) != 1:
        raise AdapterImportRefused(
            f"{key} is a {dtype} tensor of shape {shape}; DoRA magnitudes are 1-D floats"
        )
    if module not in shapes:
        raise AdapterImportRefused(f"the adapter targets {module}, which the base model does not have")
    in_features, out_features = shapes[module]
    if shape != (out_features,):
        raise AdapterImportRefused(
            f"{key} has shape {shape}, but the base module maps {in_features} -> {out_features}: the "
            "adapter was trained for another base model"
        )


def _check_config(path: Path, *, max_rank: int) -> None:
    try:
        config = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise AdapterImportRefused(f"{CONFIG_FILE} is not valid JSON: {error}") from None
    if not isinstance(config, dict):
        raise AdapterImportRefused(f"{CONFIG_FILE} does not hold a JSON object")
    for rank in [config.get("r", 8), *(config.get("rank_pattern") or {}).values()]:
        if not isinstance(rank, int) or isinstance(rank, bool) or not 0 < rank <= max_rank:
            raise AdapterImportRefused(
                f"{CONFIG_FILE} asks for rank {rank!r}; adapters of rank 1 to {max_rank} are served here"
            )


# --- All of it, on a worker ---------------------------------------------------------------------------------
def unpack_adapter_zip(
    *, path: Path, base_model: BaseModel, target: Path, max_bytes: int, max_rank: int, deadline: float
) -> Path:
    """Check, unpack and validate the zip at ``path`` into ``target``; returns ``target``.

    Unpacked into a staging folder beside the target and renamed into place only once every check passed,
    so a refused zip leaves nothing behind and the target never holds half an adapter.
    """
    plan = inspect_zip(path, max_bytes=max_bytes)
    target = Path(target)
    with staged_directory(target) as staging:
        for name, info in plan.members.items():
            extract_member(path, info, staging / name, deadline=deadline)
        _check_config(staging / CONFIG_FILE, max_rank=max_rank)
        check_weights_header(staging / WEIGHTS_FILE, module_shapes(base_model.source), max_rank=max_rank)
        if problem := servability_refusal(staging, base_model.source, max_rank=max_rank, name=target.name):
            raise AdapterImportRefused(
                f"the engine could not serve it: {problem} (base model {base_model.name})"
            )
    return target
