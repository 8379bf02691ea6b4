"""Make lava-nc 0.10 importable on Python 3.11+ without editing site-packages.

`lava.magma.compiler.var_model` uses `ByteEncoder()` instances as dataclass field
defaults. Python 3.11 rejects any unhashable default as "mutable" (3.10 only rejected
list/dict/set), so the module fails at import. We import that one module while
`dataclasses.dataclass` gives `ByteEncoder` identity hashing, which restores exactly the
3.10 behaviour Lava was written against.

Lava's runtime also calls `multiprocessing.set_start_method('fork')` at import, which raises
once anything (numba's threading layer, Dask, a test) has fixed the start method. Lava needs
'fork' whatever was chosen before, so we un-fix the default just before Lava sets it.

Call `ensure_lava_importable()` before the first `import lava...`; every module of ours that
imports Lava does so.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import io
import multiprocessing
import sys

_VAR_MODEL = "lava.magma.compiler.var_model"
_CLASSES_USED_AS_DEFAULTS = ("ByteEncoder",)


def _dataclass_with_hashable_defaults(original):
    def patched(cls=None, /, **kwargs):
        def wrap(klass):
            result = original(klass, **kwargs)
            if klass.__module__ == _VAR_MODEL and klass.__name__ in _CLASSES_USED_AS_DEFAULTS:
                result.__hash__ = object.__hash__
            return result

        return wrap if cls is None else wrap(cls)

    return patched


_LAVA_MULTIPROCESSING = "lava.magma.runtime.message_infrastructure.multiprocessing"


def ensure_lava_importable() -> None:
    """Import Lava's var_model (and with it Lava's runtime) so that it cannot fail (idempotent)."""
    if _LAVA_MULTIPROCESSING not in sys.modules and multiprocessing.get_start_method(allow_none=True) is not None:
        multiprocessing.set_start_method(None, force=True)
    if _VAR_MODEL in sys.modules:
        return
    if sys.version_info < (3, 11):
        importlib.import_module(_VAR_MODEL)
        return
    original = dataclasses.dataclass
    dataclasses.dataclass = _dataclass_with_hashable_defaults(original)
    try:
        importlib.import_module(_VAR_MODEL)
    finally:
        dataclasses.dataclass = original


# lava-dl's object-detection module prints these lines when an optional toolbox (for one demo
# dataset we never use) is missing; they are noise on every command that trains or runs netx.
_LAVA_DL_BANNER = ("WARNING: Prophesee Dataset Toolbox could not be found!",
                   "Only Prophesee DVS demo will not run properly.",
                   "Please install it from https://github.com/prophesee-ai/prophesee-automotive-dataset-toolbox")


def import_lava_dl() -> None:
    """Import lava-dl (slayer, netx) without its import-time banner.

    lava-dl prints a warning about an optional Prophesee toolbox to stdout on import; it would
    corrupt the `--json` output scripts read and means nothing to our users. Anything else
    printed during the import goes to stderr.
    """
    ensure_lava_importable()
    if "lava.lib.dl.netx" in sys.modules:
        return
    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured):
            importlib.import_module("lava.lib.dl.slayer")
            importlib.import_module("lava.lib.dl.netx")
    finally:
        rest = [line for line in captured.getvalue().splitlines() if line.strip() and line.strip() not in _LAVA_DL_BANNER]
        if rest:
            print("\n".join(rest), file=sys.stderr)
