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


def umask() -> int:
    """The process umask (temporary files are private; finished ones get the usual mode)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


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
    out.parent.mkdir(parents=True, exist_ok=True)
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
