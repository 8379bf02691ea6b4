"""The dependency declarations agree with each other and with what `make setup` installed.

pyproject.toml's dependencies are requirements/runtime.txt's (torch and torchvision excepted:
pyproject leaves room for the torch 2.3 that lava brings on Python 3.10, runtime.txt pins what
Python 3.11 runs, and that pin must satisfy pyproject's range); its `test` and `bench` extras are
requirements/test.txt and bench.txt. The interoperability packages (#16) are pinned ranges.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
OPEN_IN_PYPROJECT = {"torch", "torchvision"}
INTEROPERABILITY = {"nir", "snntorch", "nirtorch", "neurobench", "sanafe"}


def requirements_file(name: str) -> dict[str, Requirement]:
    lines = (line.strip() for line in (ROOT / "requirements" / f"{name}.txt").read_text().splitlines())
    return {req.name: req for req in map(Requirement, (line for line in lines if line and not line.startswith("#")))}


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def by_name(specs) -> dict[str, Requirement]:
    return {req.name: req for req in map(Requirement, specs)}


def test_pyproject_dependencies_are_runtime_txt():
    declared, runtime = by_name(pyproject()["dependencies"]), requirements_file("runtime")
    assert set(declared) == set(runtime)
    for name, req in declared.items():
        if name in OPEN_IN_PYPROJECT:
            pinned = next(iter(runtime[name].specifier)).version
            assert req.specifier.contains(pinned), (name, str(req.specifier), pinned)
        else:
            assert req.specifier == runtime[name].specifier and req.extras == runtime[name].extras, name


@pytest.mark.parametrize("extra", ["test", "bench"])
def test_extras_are_the_requirements_files(extra):
    declared, listed = by_name(pyproject()["optional-dependencies"][extra]), requirements_file(extra)
    assert {n: r.specifier for n, r in declared.items()} == {n: r.specifier for n, r in listed.items()}


def test_interoperability_packages_are_pinned_ranges_that_hold_here():
    everything = {}
    for name in ("runtime", "test", "bench"):
        everything |= requirements_file(name)
    for name in INTEROPERABILITY:
        specifier = everything[name].specifier
        operators = {spec.operator for spec in specifier}
        assert operators & {">=", ">"} and operators & {"<", "<="}, (name, str(specifier))
        try:
            installed = version(name)
        except PackageNotFoundError:  # bench packages are installed by `make bench` only
            assert name == "sanafe", f"{name} is not installed: run make setup"
            continue
        assert specifier.contains(installed), (name, str(specifier), installed)
    assert "nir" in requirements_file("runtime")  # hw_models/nir.py imports it at run time
    assert "sanafe" in requirements_file("bench") and "sanafe" not in requirements_file("test")
