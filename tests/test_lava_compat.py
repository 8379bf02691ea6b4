"""The Python 3.11 compat shim: Lava's var_model imports with it, and fails without it."""

from __future__ import annotations

import subprocess
import sys

import pytest

IMPORT_VAR_MODEL = "import lava.magma.compiler.var_model as m; print(hash(m.ByteEncoder()) is not None)"


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="the incompatibility only exists on Python 3.11+")
def test_lava_var_model_fails_without_the_shim():
    result = run_python(IMPORT_VAR_MODEL)
    assert result.returncode != 0
    assert "mutable default" in result.stderr


def test_lava_imports_with_the_shim_and_dataclasses_are_restored():
    code = (
        "import dataclasses; original = dataclasses.dataclass\n"
        "from hw_models.lava_compat import ensure_lava_importable; ensure_lava_importable(); ensure_lava_importable()\n"
        "assert dataclasses.dataclass is original\n"
        "from lava.proc.lif.process import LIF\n"
        "from lava.proc.dense.process import Dense\n"
        + IMPORT_VAR_MODEL
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("True")


def test_the_shim_only_touches_lava_classes():
    code = (
        "import dataclasses\n"
        "from hw_models.lava_compat import _dataclass_with_hashable_defaults\n"
        "patched = _dataclass_with_hashable_defaults(dataclasses.dataclass)\n"
        "@patched\nclass ByteEncoder:\n    x: int = 0\n"
        "print(ByteEncoder.__hash__ is None)"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_lava_imports_after_the_multiprocessing_start_method_was_fixed():
    # numba's threading layer, Dask or a test may fix the start method first; Lava's runtime
    # calls set_start_method('fork') at import, which would then raise.
    code = (
        "import multiprocessing; multiprocessing.get_start_method()\n"
        "from hw_models.lava_compat import ensure_lava_importable; ensure_lava_importable()\n"
        "from lava.magma.core.run_configs import Loihi2SimCfg\n"
        "print(multiprocessing.get_start_method())"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "fork"
