"""The audit spool: every gateway process's write-ahead log of audit records, on local disk.

Each process appends every record to its own spool before the last byte of the response leaves
(``capture``), so a record exists for every answered request even if the process is killed the next
instant (SIGKILL), the durable path (Redis, or the database in the embedded default) is down, or
memory would overflow. Whoever ships a spool (``spool_drain``) reads it in order and moves a
``shipped`` mark forward; a record shipped twice is harmless (the chain skips a known ``event_id``).

Files in ``GATEWAY_AUDIT_SPOOL_DIR``, per process (``owner``: host, pid and a random tag)::

    <owner>.owner         flock'ed by the owning process while it lives (free: the owner is gone)
    <owner>.reader        flock'ed by whoever ships this spool (one shipper at a time keeps order)
    <owner>.<seq>.seg     segments of GATEWAY_AUDIT_SPOOL_SEGMENT_BYTES, preallocated, memory-mapped

A segment is a 64-byte header (magic, ``shipped`` offset, ``sealed`` flag, final ``end``) then
records, each ``<u32 length><u32 crc32><JSON payload>``. The writer copies crc and payload first and
the length last, so a reader sees a record only once it is whole; a zero length ends the data. The
writer's hot path is a memory copy into the shared mapping (the kernel owns those pages, so they
survive the process); ``sync`` (msync, in a thread) makes them durable across a machine crash every
``GATEWAY_AUDIT_SPOOL_FSYNC_INTERVAL``. Segments are made ahead of need, off the event loop, and
``posix_fallocate``'d, so a full disk refuses a new segment instead of faulting a write.
"""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
import secrets
import socket
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

MAGIC = b"GWSPOOL1"
HEADER = 64
SHIPPED_AT, SEALED_AT, END_AT = 8, 16, 24
RECORD_HEAD = struct.Struct("<II")
U64 = struct.Struct("<Q")
U32 = struct.Struct("<I")
SEGMENT_SUFFIX = ".seg"


def new_owner() -> str:
    host = socket.gethostname().replace(".", "_").replace("/", "_") or "host"
    return f"{host}-{os.getpid()}-{secrets.token_hex(3)}"


def segment_name(owner: str, seq: int) -> str:
    return f"{owner}.{seq:08d}{SEGMENT_SUFFIX}"


def parse_segment_name(name: str) -> tuple[str, int] | None:
    if not name.endswith(SEGMENT_SUFFIX):
        return None
    owner, _, seq = name[: -len(SEGMENT_SUFFIX)].rpartition(".")
    return (owner, int(seq)) if owner and seq.isdigit() else None


@dataclass(eq=False)
class Segment:
    """One memory-mapped segment file (the owner's, or a shipper's view of it)."""

    path: Path
    seq: int
    fd: int
    mm: mmap.mmap
    size: int
    end: int = HEADER  # the writer's next offset (the owner's copy only)
    synced: bool = True

    @classmethod
    def create(cls, path: Path, seq: int, size: int) -> Segment:
        """A new, preallocated segment (blocking: call it from a thread)."""
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            if hasattr(os, "posix_fallocate"):
                os.posix_fallocate(fd, 0, size)
            else:  # macOS: a sparse file (a full disk then faults a write instead of refusing the file)
                os.ftruncate(fd, size)
            mm = mmap.mmap(fd, size)
        except OSError:
            os.close(fd)
            with contextlib.suppress(OSError):
                path.unlink()
            raise
        mm[:8] = MAGIC
        U64.pack_into(mm, SHIPPED_AT, HEADER)
        return cls(path, seq, fd, mm, size)

    @classmethod
    def open(cls, path: Path, seq: int) -> Segment | None:
        """An existing segment, to ship it; None if it is gone or not a segment."""
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return None
        try:
            size = os.fstat(fd).st_size
            if size <= HEADER:
                raise ValueError("too small")
            mm = mmap.mmap(fd, size)
        except (OSError, ValueError):
            os.close(fd)
            return None
        if mm[:8] != MAGIC:
            mm.close()
            os.close(fd)
            return None
        return cls(path, seq, fd, mm, size)

    # --- header -------------------------------------------------------------------------------

    @property
    def shipped(self) -> int:
        return int(U64.unpack_from(self.mm, SHIPPED_AT)[0])

    def set_shipped(self, offset: int) -> None:
        U64.pack_into(self.mm, SHIPPED_AT, offset)

    @property
    def sealed_end(self) -> int | None:
        """The final end offset once the owner stopped writing here, else None."""
        if U64.unpack_from(self.mm, SEALED_AT)[0]:
            return int(U64.unpack_from(self.mm, END_AT)[0])
        return None

    def seal(self) -> None:
        U64.pack_into(self.mm, END_AT, self.end)
        U64.pack_into(self.mm, SEALED_AT, 1)

    # --- records ------------------------------------------------------------------------------

    def room(self) -> int:
        return self.size - self.end - RECORD_HEAD.size

    def write(self, payload: bytes) -> None:
        """Append one record (the caller checked ``room``): payload and crc first, length last."""
        offset, size = self.end, len(payload)
        start = offset + RECORD_HEAD.size
        mm = self.mm
        mm[start : start + size] = payload
        U32.pack_into(mm, offset + 4, zlib.crc32(payload))
        U32.pack_into(mm, offset, size)
        self.end = start + size
        self.synced = False

    def read(self, offset: int, count: int) -> tuple[list[bytes], int, bool]:
        """Up to ``count`` whole records from ``offset``: (payloads, next offset, bad) where ``bad``
        says a record there is torn or corrupt (an unfinished write, or a crash before a sync)."""
        mm, size = self.mm, self.size
        payloads: list[bytes] = []
        while len(payloads) < count and offset + RECORD_HEAD.size <= size:
            length, crc = RECORD_HEAD.unpack_from(mm, offset)
            if length == 0:
                return payloads, offset, False
            start = offset + RECORD_HEAD.size
            if start + length > size:
                return payloads, offset, True
            payload = mm[start : start + length]
            if zlib.crc32(payload) != crc:
                return payloads, offset, True
            payloads.append(payload)
            offset = start + length
        return payloads, offset, False

    def sync(self) -> None:
        self.mm.flush()
        self.synced = True

    def close(self) -> None:
        with contextlib.suppress(ValueError, BufferError):
            self.mm.close()
        with contextlib.suppress(OSError):
            os.close(self.fd)


def lock(path: Path, blocking: bool = False) -> int | None:
    """An exclusive flock on ``path`` (created if missing): the fd that holds it, or None if taken."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def unlock(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)  # closing the last fd releases the flock


def take_owner_lock(directory: Path, owner: str) -> int:
    """Lock ``<owner>.owner`` before it appears under that name, so no shipper ever sees it free
    while the owner lives."""
    temporary = directory / f".{owner}.owner.tmp"
    fd = lock(temporary, blocking=True)
    assert fd is not None
    os.write(fd, f"{socket.gethostname()} pid {os.getpid()}\n".encode())
    os.rename(temporary, directory / f"{owner}.owner")
    return fd


@dataclass(eq=False)
class SpoolWriter:
    """This process's spool: the current segment, one made ahead (``spare``), and the sealed ones not
    yet shipped. Only the event loop's thread calls ``append``; ``make_spare`` and ``sync`` run in a
    worker thread and only touch segments ``append`` does not write."""

    directory: Path
    segment_bytes: int
    max_bytes: int
    owner: str = ""  # made by ``open``: a forked worker must not share its parent's
    current: Segment | None = None
    spare: Segment | None = None
    sealed: list[Segment] = field(default_factory=list)
    next_seq: int = 1
    owner_fd: int | None = None
    reader_fd: int | None = None

    def open(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.owner = new_owner()
        self.owner_fd = take_owner_lock(self.directory, self.owner)
        self.current = self._new_segment()
        self.make_spare()

    def own_reader_lock(self) -> None:
        """This process ships its own spool (there is a stream): nobody else may."""
        self.reader_fd = lock(self.directory / f"{self.owner}.reader", blocking=True)

    @property
    def allocated(self) -> int:
        count = len(self.sealed) + (self.current is not None) + (self.spare is not None)
        return count * self.segment_bytes

    def _new_segment(self) -> Segment:
        seq = self.next_seq
        self.next_seq += 1
        return Segment.create(self.directory / segment_name(self.owner, seq), seq, self.segment_bytes)

    def make_spare(self) -> bool:
        """Make the next segment ahead of need, within ``max_bytes`` (blocking: from a thread)."""
        if self.spare is not None or self.allocated + self.segment_bytes > self.max_bytes:
            return False
        self.spare = self._new_segment()
        return True

    def room(self) -> int:
        """Bytes the spool can take now without making a segment."""
        current = self.current.room() if self.current is not None else 0
        spare = self.spare.room() if self.spare is not None else 0
        return max(current, 0) + max(spare, 0)

    def capacity(self) -> int:
        """Bytes the spool can still take, counting the segments it may yet make (``max_bytes``)."""
        more = max(self.max_bytes - self.allocated, 0) // self.segment_bytes
        return self.room() + more * (self.segment_bytes - HEADER - RECORD_HEAD.size)

    def append(self, payload: bytes) -> bool:
        """Write one record; False if neither the current segment nor the spare has room."""
        segment = self.current
        if segment is None:
            return False
        if segment.room() < len(payload):
            spare = self.spare
            if spare is None or spare.room() < len(payload):
                return False
            segment.seal()
            self.sealed.append(segment)
            self.current = self.spare = segment = spare
            self.spare = None
        segment.write(payload)
        return True

    def pending_bytes(self) -> int:
        """Bytes written and not yet shipped (the shipper moves each segment's mark)."""
        return sum(s.end - s.shipped for s in (*self.sealed, *((self.current,) if self.current else ())))

    def release_shipped(self) -> int:
        """Forget sealed segments shipped to their end (the shipper deletes the files); how many."""
        keep, released = [], 0
        for segment in self.sealed:
            if segment.shipped >= segment.end:
                segment.close()
                with contextlib.suppress(OSError):
                    segment.path.unlink()
                released += 1
            else:
                keep.append(segment)
        self.sealed = keep
        return released

    def sync(self) -> None:
        """msync what was written since the last sync (blocking: from a thread)."""
        for segment in (*self.sealed, *((self.current,) if self.current else ())):
            if not segment.synced:
                segment.sync()

    def close(self) -> None:
        """Stop writing: seal the current segment, drop the unused spare, release the owner lock.
        Unshipped segments stay on disk for whoever ships them next (a restart, the audit worker)."""
        if self.current is not None:
            self.current.seal()
            self.sealed.append(self.current)
            self.current = None
        if self.spare is not None:
            self.spare.close()
            with contextlib.suppress(OSError):
                self.spare.path.unlink()
            self.spare = None
        self.sync()
        self.release_shipped()
        for segment in self.sealed:
            segment.close()
        if not self.sealed:
            for suffix in (".owner", ".reader"):
                with contextlib.suppress(OSError):
                    (self.directory / f"{self.owner}{suffix}").unlink()
        self.sealed = []
        unlock(self.reader_fd)
        unlock(self.owner_fd)
        self.reader_fd = self.owner_fd = None
