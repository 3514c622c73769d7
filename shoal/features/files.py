"""The files a feature command reads and writes, checked up front: a bad path is refused, naming
the file, before any work is done and without changing anything."""

from __future__ import annotations

import os
from pathlib import Path

from shoal.errors import InvalidInput

_BOM = b"\xef\xbb\xbf"  # editors on Windows start UTF-8 files with it


def decode_text(data: bytes, where: str) -> str:
    """UTF-8 bytes as text (a leading byte order mark dropped); InvalidInput naming the first bad byte."""
    skip = len(_BOM) if data.startswith(_BOM) else 0
    try:
        return data[skip:].decode("utf-8")
    except UnicodeDecodeError as e:
        offset = skip + e.start
        raise InvalidInput(
            f"{where} is not UTF-8 text: byte 0x{data[offset]:02x} at offset {offset} ({e.reason}); "
            "save it as UTF-8",
            file=where, offset=offset,
        ) from None


def read_text(path: str | Path, what: str = "file") -> str:
    """The text of a UTF-8 file; InvalidInput naming the file when it is missing, a directory,
    unreadable or not UTF-8."""
    p = Path(path)
    try:
        if p.is_dir():
            raise InvalidInput(f"{p} is a directory, not a {what}", file=str(p))
        data = p.read_bytes()
    except FileNotFoundError:
        raise InvalidInput(f"no such file: {p}", file=str(p)) from None
    except OSError as e:
        raise InvalidInput(f"cannot read {p}: {e.strerror or e}", file=str(p)) from None
    return decode_text(data, str(p))


def check_output(path: str | Path) -> Path:
    """Refuse an output file that cannot be written (a directory, a folder under a regular file,
    a folder without write permission), so that a long job does not fail at its last step.

    Creates nothing: the missing folders are made when the file is written.
    """
    p = Path(path)
    if p.is_dir():
        raise InvalidInput(f"cannot write {p}: it is a directory; give a file name (e.g. {p / 'samples.parquet'})")
    folder = p.parent
    while not folder.exists() and folder != folder.parent:
        if folder.is_symlink():  # a dangling link: mkdir would fail on it
            raise InvalidInput(f"cannot write {p}: {folder} is a broken symbolic link")
        folder = folder.parent
    if not folder.is_dir():
        raise InvalidInput(f"cannot write {p}: {folder} is not a directory")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InvalidInput(f"cannot write {p}: no permission to create files in {folder}")
    return p
