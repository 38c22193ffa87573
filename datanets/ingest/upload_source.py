"""Opening an upload, from a path or a file object, with the byte limit and progress reporting.

Readers see one buffered binary stream whatever the caller had: Django hands over either a
temporary file on disk or an in-memory upload, and the Celery task a path. The stream counts the
bytes the readers pull through it, which is what the progress bar shows, so progress needs no
cooperation from the parsers.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from datanets.ingest.outcomes import UploadUnreadable

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_DECODED_BYTES = 512 * 1024 * 1024
"""What a compressed file (Parquet) may decompress to: about ten times the upload limit, which text rows
compressed with zstd or snappy stay well under, and a worker can hold."""
DEFAULT_MAX_ROWS = 1_000_000
READ_CHUNK_BYTES = 1 << 16

UploadLike = str | os.PathLike[str] | BinaryIO
ProgressCallback = Callable[[int, int], None]
"""Called as ``on_progress(bytes_read, total_bytes)``, a few hundred times per file at most."""


def describe_size(n_bytes: int) -> str:
    """Sizes as people read them on the upload page: "48.2 MB", "912 KB", "17 bytes"."""
    if n_bytes >= 1024 * 1024:
        return f"{n_bytes / (1024 * 1024):.1f} MB"
    if n_bytes >= 1024:
        return f"{n_bytes / 1024:.0f} KB"
    return f"{n_bytes} bytes"


class _ProgressMeter:
    """Throttles progress reports to about one per half percent, plus a final one."""

    def __init__(self, total_bytes: int, on_progress: ProgressCallback | None) -> None:
        self.total_bytes = total_bytes
        self._on_progress = on_progress
        self._step = max(total_bytes // 200, READ_CHUNK_BYTES)
        self._last_reported = -1
        self.position = 0

    def moved_to(self, position: int) -> None:
        self.position = min(position, self.total_bytes)
        if self._on_progress is not None and self.position - self._last_reported >= self._step:
            self._report()

    def finish(self) -> None:
        self.position = self.total_bytes
        if self._on_progress is not None and self._last_reported != self.total_bytes:
            self._report()

    def _report(self) -> None:
        self._last_reported = self.position
        self._on_progress(self.position, self.total_bytes)


class _CountingRaw(io.RawIOBase):
    """The caller's file seen as a raw stream whose reads move the progress meter."""

    def __init__(self, file: BinaryIO, meter: _ProgressMeter) -> None:
        super().__init__()
        self._file = file
        self._meter = meter
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self._file.read(len(buffer))
        count = len(data)
        buffer[:count] = data
        self._position += count
        self._meter.moved_to(self._position)
        return count

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._position = self._file.seek(offset, whence)
        return self._position

    def tell(self) -> int:
        return self._position


@dataclass(frozen=True)
class DecodeLimits:
    """Bounds on what a file may expand to once read, for formats whose size on disk says little (Parquet).

    A 50 MB Parquet file can decompress to gigabytes: enough to kill the worker that reads it, every time
    its message comes back. Readers check these against the file's own metadata before reading anything,
    and against what they decode as they go.
    """

    max_decoded_bytes: int = DEFAULT_MAX_DECODED_BYTES
    max_rows: int = DEFAULT_MAX_ROWS


@dataclass
class OpenedUpload:
    """An upload ready to read: its buffered byte stream, size and (when it has one) path on disk."""

    stream: io.BufferedReader
    total_bytes: int
    path: Path | None
    raw_file: BinaryIO
    _meter: _ProgressMeter = field(repr=False)
    limits: DecodeLimits = field(default_factory=DecodeLimits)

    def head(self, n_bytes: int) -> bytes:
        """The first bytes of the file, without moving the reading position."""
        position = self.stream.tell()
        self.stream.seek(0)
        data = self.stream.read(n_bytes)
        self.stream.seek(position)
        return data

    def rewind(self) -> None:
        """Back to the first byte, for readers that had to look ahead before choosing how to read."""
        self.stream.seek(0)

    def report_position(self, position: int) -> None:
        """For readers that do not read front to back (Parquet), report how far along they are."""
        self._meter.moved_to(position)

    def finish(self) -> None:
        self._meter.finish()


@contextmanager
def open_upload(
    source: UploadLike,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    on_progress: ProgressCallback | None = None,
    limits: DecodeLimits | None = None,
) -> Iterator[OpenedUpload]:
    """Open ``source`` for reading, refusing empty files and files over ``max_bytes`` up front.

    A file object must be seekable (Django's uploaded files are): readers sometimes look ahead
    and start again, and the size is needed for the limit and the progress bar.
    """
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        with path.open("rb") as file:
            yield _opened(file, path, max_bytes, on_progress, limits or DecodeLimits())
        return
    if not source.seekable():
        raise ValueError("open_upload needs a seekable file object (save the upload to a temporary file)")
    yield _opened(source, None, max_bytes, on_progress, limits or DecodeLimits())


def _opened(
    file: BinaryIO,
    path: Path | None,
    max_bytes: int,
    on_progress: ProgressCallback | None,
    limits: DecodeLimits,
) -> OpenedUpload:
    total_bytes = file.seek(0, io.SEEK_END)
    file.seek(0)
    if total_bytes == 0:
        raise UploadUnreadable("The file is empty (0 bytes). Choose the file that holds your rows.")
    if total_bytes > max_bytes:
        raise UploadUnreadable(
            f"The file is {describe_size(total_bytes)}; the limit is {describe_size(max_bytes)} per file. "
            "Split it into smaller files and upload them one at a time."
        )
    meter = _ProgressMeter(total_bytes, on_progress)
    stream = io.BufferedReader(_CountingRaw(file, meter), buffer_size=READ_CHUNK_BYTES)
    return OpenedUpload(
        stream=stream, total_bytes=total_bytes, path=path, raw_file=file, _meter=meter, limits=limits
    )
