"""Writing files and folders all at once or not at all.

Everything `codesign` hands to a user (reports, figures, export folders) is built under a
temporary name beside its target, flushed to disk, and renamed into place: a reader never
sees half a file, and a failure (or a kill) leaves any previous version untouched. The
network files themselves are written the same way by `hw_models.netx`; studies have their
own rules (`codesign.study.storage`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from codesign.errors import CodesignError


def umask() -> int:
    """The process umask (temporary files are private; finished ones get the usual mode)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_output(path: str | Path, what: str, *, folder: bool = False) -> Path:
    """Refuse, before anything is written, an output that cannot be written: a name with a NUL,
    an existing entry of the other kind (a folder where a file goes, or the reverse), a file
    where a parent folder must be, an unwritable folder. Missing parents are fine (they are
    created when the output is written)."""
    path = Path(path)
    if "\0" in str(path) or not str(path).strip():
        raise CodesignError(f"{what} {str(path)!r} is not a usable path")
    try:
        if path.is_dir() and not folder:
            raise CodesignError(f"{what} {path} is a folder; give the file to write")
        if path.exists() and folder and not path.is_dir():
            raise CodesignError(f"{what} {path} exists and is not a folder")
        if path.exists() and not path.is_dir() and not os.access(path, os.W_OK):
            raise CodesignError(f"{what} {path} is not writable")
        ancestor = path.absolute().parent
        while not ancestor.exists():
            ancestor = ancestor.parent
    except OSError as error:
        raise CodesignError(f"{what} {path} cannot be used: {error.strerror or error}") from None
    if not ancestor.is_dir():
        raise CodesignError(f"{what} {path} cannot be created: {ancestor} is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise CodesignError(f"{what} {path} cannot be created: folder {ancestor} is not writable")
    return path


@contextlib.contextmanager
def parent_folders(path: str | Path) -> Iterator[Path]:
    """Create the missing folders above `path`; remove them again if the block fails, so a
    refused command leaves no empty folder behind."""
    path = Path(path)
    missing = []
    ancestor = path.parent
    while not ancestor.exists():
        missing.append(ancestor)
        ancestor = ancestor.parent
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        yield path
    except BaseException:
        for folder in missing:  # innermost first
            try:
                folder.rmdir()
            except OSError:
                break
        raise


def write_file(path: str | Path, data: bytes | str) -> Path:
    """Write `data` to `path` atomically (temporary file, fsync, rename)."""
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o666 & ~umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


@contextlib.contextmanager
def staged_folder(out: str | Path) -> Iterator[Path]:
    """A temporary folder beside `out`, renamed to `out` only if the block finishes.

    An existing `out` is moved aside first and removed only once the new folder is in place
    (restored if the rename fails); whether replacing it is allowed is the caller's decision."""
    out = Path(out)
    with parent_folders(out):
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
        try:
            os.chmod(staging, 0o777 & ~umask())  # mkdtemp makes it private; what we publish is meant to be shared
            yield staging
            _publish(staging, out)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


def _publish(staging: Path, out: Path) -> None:
    """fsync the files, then rename the finished folder into place (old one aside first, removed last)."""
    for path in staging.iterdir():
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    if not out.exists():
        os.replace(staging, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    os.replace(out, old / out.name)
    try:
        os.replace(staging, out)
    except BaseException:
        os.replace(old / out.name, out)
        raise
    shutil.rmtree(old, ignore_errors=True)
