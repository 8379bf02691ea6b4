"""Malformed input through the real `codesign` command line, as a hostile user would type it (#18).

Every case below is one malformed input (a config key, a chip profile, a flag, a study file, an
export folder) given to the CLI's entry point in this process with its output captured; a few
run as real subprocesses. Each must be refused with exit code 2, one message naming the key or
file at fault, no Python traceback, and the workspace exactly as it was (no new, changed or
removed file or folder: a refused sweep leaves no study, a refused report no report.html).

The workspace (configs, profiles, a real study with netx artifacts, a real export) is built once;
each case adds only its own input files before the workspace is photographed.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from test_export import crafted_study

from codesign.cli import main
from codesign.deploy.export import export_trial

# --------------------------------------------------------------------------- writing inputs


def toml_value(value) -> str:
    """A Python value as TOML (strings through JSON's escapes, which TOML shares)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(key)} = {toml_value(item)}" for key, item in value.items()) + "}"
    raise TypeError(value)


def toml_text(raw: dict) -> str:
    """Sections of `raw` as TOML tables; a section that is not a dict is written as a plain key."""
    lines = []
    for section, table in raw.items():
        if not isinstance(table, dict):
            lines.insert(0, f"{section} = {toml_value(table)}")
            continue
        lines.append(f"[{section}]")
        lines += [f"{json.dumps(key)} = {toml_value(value)}" for key, value in table.items()]
    return "\n".join(lines) + "\n"


GOOD = {
    "study": {"name": "bad-input", "seed": 1},
    "dataset": {"name": "iris"},
    "encoding": {"encoders": ["rate"], "timesteps": {"low": 6, "high": 10}},
    "training": {"trainers": ["slayer"], "slayer": {"epochs": 1}},
    "hardware": {"profile": "loihi2", "weight_bits": {"low": 3, "high": 8}},
    "objectives": {"accuracy": "maximize", "energy_per_inference_uj": "minimize"},
    "budget": {"trials": 2},
}
DELETE = object()  # a change that removes the key


def changed(*changes) -> dict:
    """GOOD with (section, key, value) changes; key None replaces the whole section."""
    raw = json.loads(json.dumps(GOOD))
    for section, key, value in changes:
        if key is None:
            raw[section] = value
        elif value is DELETE:
            raw.get(section, {}).pop(key, None)
        else:
            raw.setdefault(section, {})[key] = value
    return raw


PROFILE = (Path(__file__).resolve().parent.parent / "hw_models" / "profiles" / "loihi2.toml").read_text()


def profile_text(old: str | None = None, new: str = "") -> str:
    """The loihi2 profile with one line (the first that starts with `old`) replaced by `new`."""
    if old is None:
        return PROFILE
    lines = PROFILE.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith(old))
    lines[index] = new
    return "\n".join(lines) + "\n"


def without_section(text: str, section: str) -> str:
    out, skipping = [], False
    for line in text.splitlines():
        if line.startswith("["):
            skipping = line.strip() == f"[{section}]"
        if not skipping:
            out.append(line)
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- cases


@dataclass
class Case:
    id: str
    argv: list[str]  # {case} is replaced by the case's own folder, {work} by the workspace
    expect: list[str]  # fragments the error must contain (the key, the value or the file)
    files: dict[str, bytes | str] = field(default_factory=dict)  # case-folder files written before the photo
    copy: dict[str, str] = field(default_factory=dict)  # case-folder path -> workspace path copied before the photo
    edit_sql: tuple[str, list[str]] | None = None  # (case-folder study file, statements run on it)
    edit_json: tuple[str, str, object] | None = None  # (case-folder file, dotted key, value or DELETE)


CASES: list[Case] = []


def add(case_id: str, argv: list[str], expect: list[str], **kwargs) -> None:
    CASES.append(Case(case_id, argv, expect, **kwargs))


def config_case(case_id: str, raw: dict | str | bytes, expect: list[str], extra: list[str] = (), **files) -> None:
    text = raw if isinstance(raw, (str, bytes)) else toml_text(raw)
    add(case_id, ["sweep", "{case}/sweep.toml", "--study", "{case}/study.sqlite", *extra], ["sweep.toml", *expect],
        files={"sweep.toml": text, **files})


# ---- the scalar settings: wrong types, non-finite numbers, out of range
SETTING_VALUES = {
    ("study", "seed"): ["1", True, 1.5, math.nan, -1, 2**63, [1], {"a": 1}],
    ("budget", "trials"): ["5", True, 2.5, math.nan, math.inf, 0, -3, 10**7, [5]],
    ("budget", "timeout_s"): ["60", True, math.nan, math.inf, -math.inf, -5, -0.5, 1e12, [1]],
    ("run", "batch_size"): ["1", False, 0, -1, 1.5, math.nan, 5000],
    ("run", "workers"): ["2", True, 0, -2, 2.5, math.nan, 100000],
    ("run", "n_initial"): ["4", True, -1, 1.5, math.inf],
    ("run", "evaluation_samples"): ["10", True, -1, 0.5, math.nan],
    ("run", "prune_below_front"): ["0.5", True, math.nan, math.inf, -0.1, 1.0, 2],
    ("run", "grid_points"): ["3", True, 1, 0, 2.5, 10**6],
    ("run", "backend"): ["gpu", "", 1, True, ["numba"]],
    ("run", "sampler"): ["tpe", "", 3, False],
    ("study", "name"): ["", "a/b", "../up", ".hidden", "x" * 201, "a\u0000b", "tab\tname", "back\\slash", 3, True],
    ("run", "scheduler"): ["bogus", "http://host:1", "tcp://", "tcp://a b", 5, True],
}
for (section, key), values in SETTING_VALUES.items():
    for index, value in enumerate(values):
        config_case(f"setting-{section}.{key}-{index}", changed((section, key, value)), [f"{section}.{key}"])

for section, key in [("study", "colour"), ("budget", "epochs"), ("run", "gpu"), ("objectives", "happiness"),
                     ("constraints", "limit"), ("hardware", "flux"), ("encoding", "speed"), ("training", "optimizer")]:
    config_case(f"unknown-key-{section}.{key}", changed((section, key, 1)), [f"{section}.{key}"])

# ---- run.reference_point
for index, (value, key) in enumerate([
    ([0.5, 1.0], "run.reference_point"), ("high", "run.reference_point"),
    ({"accuracy": math.nan, "energy_per_inference_uj": 1.0}, "run.reference_point.accuracy"),
    ({"accuracy": 0.5, "energy_per_inference_uj": math.inf}, "run.reference_point.energy_per_inference_uj"),
    ({"accuracy": "half", "energy_per_inference_uj": 1.0}, "run.reference_point.accuracy"),
    ({"accuracy": True, "energy_per_inference_uj": 1.0}, "run.reference_point.accuracy"),
    ({"accuracy": 0.5}, "energy_per_inference_uj"),
    ({"accuracy": 0.5, "energy_per_inference_uj": 1.0, "cores": 3}, "run.reference_point.cores"),
]):
    config_case(f"reference-point-{index}", changed(("run", "reference_point", value)), [key])

# ---- [dataset]: names, fractions, max_samples, options of each dataset, paths that must exist
for index, value in enumerate(["mnist", "", 3, True, ["iris"]]):
    config_case(f"dataset-name-{index}", changed(("dataset", "name", value)), ["dataset.name"])
for key in ("validation_fraction", "test_fraction"):
    for index, value in enumerate([0, 1, 1.5, -0.1, math.nan, math.inf, "0.2", True, [0.2]]):
        config_case(f"dataset-{key}-{index}", changed(("dataset", key, value)), [f"dataset.{key}"])
for index, (validation, test) in enumerate([(0.5, 0.5), (0.6, 0.45), (0.9, 0.3), (0.99, 0.01)]):
    config_case(f"dataset-fraction-sum-{index}",
                changed(("dataset", "validation_fraction", validation), ("dataset", "test_fraction", test)),
                ["validation_fraction + test_fraction"])
for index, value in enumerate([0, -5, "10", 1.5, True, math.nan, [10], 10**13]):
    config_case(f"dataset-max_samples-{index}", changed(("dataset", "max_samples", value)), ["max_samples"])
config_case("dataset-iris-path", changed(("dataset", "path", "x.h5")), ["dataset.path"])

SHD = {"name": "shd", "path": "{work}/inputs/shd.h5"}
for index, (table, expect) in enumerate([
    ({"name": "shd"}, "'path' is required"),
    ({"name": "shd", "path": "missing.h5"}, "missing.h5"),
    ({"name": "shd", "path": "{work}/inputs"}, "is not a file"),
    ({**SHD, "test_path": "missing_test.h5"}, "missing_test.h5"),
    ({**SHD, "path": ""}, "'path'"),
    ({**SHD, "path": 3}, "'path'"),
    ({**SHD, "timesteps": 0}, "'timesteps'"),
    ({**SHD, "timesteps": "100"}, "'timesteps'"),
    ({**SHD, "duration_s": 0}, "'duration_s'"),
    ({**SHD, "duration_s": math.nan}, "'duration_s'"),
    ({**SHD, "duration_s": -1.0}, "'duration_s'"),
    ({**SHD, "n_units": "all"}, "'n_units'"),
    ({**SHD, "unit_pool": 0}, "'unit_pool'"),
    ({**SHD, "unit_pool": 1.5}, "'unit_pool'"),
    ({**SHD, "bins": 4}, "dataset.bins"),
]):
    config_case(f"dataset-shd-{index}", changed(("dataset", None, table)), [expect])

EVENTS = {"name": "events", "path": "{work}/inputs", "sensor_size": [8, 8, 2]}
for index, (table, expect) in enumerate([
    ({"name": "events", "path": "{work}/inputs"}, "'sensor_size' is required"),
    ({**EVENTS, "path": "no_such_folder"}, "no_such_folder"),
    ({**EVENTS, "sensor_size": [8, 8]}, "'sensor_size'"),
    ({**EVENTS, "sensor_size": "8x8x2"}, "'sensor_size'"),
    ({**EVENTS, "sensor_size": [0, 8, 2]}, "sensor_size[0]"),
    ({**EVENTS, "sensor_size": [8, 8, 3]}, "sensor_size[2]"),
    ({**EVENTS, "sensor_size": [8, 8.5, 2]}, "sensor_size[1]"),
    ({**EVENTS, "downsample": 0}, "'downsample'"),
    ({**EVENTS, "duration": -1.0}, "'duration'"),
    ({**EVENTS, "duration": math.inf}, "'duration'"),
    ({**EVENTS, "timesteps": 0}, "'timesteps'"),
    ({**EVENTS, "test_path": "gone"}, "gone"),
]):
    config_case(f"dataset-events-{index}", changed(("dataset", None, table)), [expect])

for index, (key, value) in enumerate([
    ("n_samples", 1), ("n_samples", "512"), ("size", 1), ("size", 300), ("dims", 3), ("dims", 0), ("timesteps", 0),
    ("timesteps", 10**6), ("noise_rate", 2.0), ("noise_rate", math.nan), ("noise_rate", -0.5), ("min_span", -1.0),
    ("min_span", True), ("speed", 3),
]):
    config_case(f"dataset-moving_dots-{index}", changed(("dataset", None, {"name": "moving_dots", key: value})), [key])

# ---- [encoding]
for index, value in enumerate([[], ["morse"], "rate", ["rate", "rate"], 3]):
    config_case(f"encoding-encoders-{index}", changed(("encoding", "encoders", value)), ["encoding.encoders"])
for index, value in enumerate([0, 1001, "8", math.nan, True, {"low": 8}, {"low": 16, "high": 8},
                               {"low": 8, "high": 16, "log": "false"}, {"low": 8, "high": 16, "log": 2},
                               {"choices": []}, {"choices": [0, 8]}, {"low": 8, "high": 16, "step": 2},
                               {"low": math.nan, "high": 16}, {"low": 8.5, "high": 16}]):
    config_case(f"encoding-timesteps-{index}", changed(("encoding", "timesteps", value)), ["encoding.timesteps"])
for index, value in enumerate([{"low": 0.3, "high": 2.0}, {"low": math.nan, "high": 1.0},
                               {"low": 0.3, "high": 1.0, "log": "false"}, {"low": 0.3, "high": 1.0, "log": 1},
                               {"low": 0.0, "high": 1.0, "log": True}, {"low": 0.3, "high": 1.0, "step": 1},
                               "fast", -0.5, {"choices": "all"}, {"high": 1.0}]):
    config_case(f"encoding-rate-max_rate-{index}", changed(("encoding", "rate", {"max_rate": value})),
                ["encoding.rate.max_rate"])
config_case("encoding-rate-unknown", changed(("encoding", "rate", {"speed": 3})), ["encoding.rate.speed"])
config_case("encoding-rate-not-table", changed(("encoding", "rate", 3)), ["encoding.rate"])
config_case("encoding-unlisted", changed(("encoding", "latency", {})), ["encoding.latency"])

# ---- [training]
for index, value in enumerate([[], ["backprop"], "slayer", 7]):
    config_case(f"training-trainers-{index}", changed(("training", "trainers", value)), ["training.trainers"])
for index, (key, value) in enumerate([("epochs", 0), ("epochs", "3"), ("epochs", 2.5), ("epochs", math.nan),
                                      ("learning_rate", -1.0), ("learning_rate", math.nan),
                                      ("learning_rate", math.inf), ("learning_rate", "fast"),
                                      ("learning_rate", {"low": 0.1, "high": 0.01}), ("bogus", 1)]):
    config_case(f"training-slayer-{index}", changed(("training", "slayer", {key: value})), [f"training.slayer.{key}"])
config_case("training-slayer-not-table", changed(("training", "slayer", 3)), ["training.slayer"])

# ---- [hardware]: the profile (names, files, their numbers) and the hardware ranges
for index, (value, expect) in enumerate([("", "hardware.profile"), ("loihi9", "loihi9"), (3, "hardware.profile"),
                                         (True, "hardware.profile"), ("missing.toml", "missing.toml"),
                                         ("{work}/inputs", "is a folder")]):
    config_case(f"hardware-profile-{index}", changed(("hardware", "profile", value)), [expect])
PROFILE_CASES = {
    "cores-nan": (profile_text("cores =", 'cores = { value = nan, unit = "cores", source = "s" }'), "limits.cores"),
    "cores-negative": (profile_text("cores =", 'cores = { value = -1, unit = "cores", source = "s" }'), "limits.cores"),
    "cores-zero": (profile_text("cores =", 'cores = { value = 0, unit = "cores", source = "s" }'), "limits.cores"),
    "cores-fraction": (profile_text("cores =", 'cores = { value = 1.5, unit = "cores", source = "s" }'), "limits.cores"),
    "cores-inf": (profile_text("cores =", 'cores = { value = inf, unit = "cores", source = "s" }'), "limits.cores"),
    "cores-string": (profile_text("cores =", 'cores = { value = "128", unit = "cores", source = "s" }'), "limits.cores"),
    "cores-bool": (profile_text("cores =", 'cores = { value = true, unit = "cores", source = "s" }'), "limits.cores"),
    "cores-no-source": (profile_text("cores =", 'cores = { value = 128, unit = "cores" }'), "limits.cores"),
    "cores-missing": (profile_text("cores =", ""), "cores"),
    "neurons-zero": (profile_text("neurons_per_core =", 'neurons_per_core = { value = 0, source = "s" }'),
                     "limits.neurons_per_core"),
    "bits-reversed": (profile_text("weight_bits_min =", 'weight_bits_min = { value = 9, source = "s" }'),
                      "limits.weight_bits_min"),
    "delay-negative": (profile_text("delay_max =", 'delay_max = { value = -1, source = "s" }'), "limits.delay_max"),
    "no-energy": (without_section(PROFILE, "energy"), "[energy]"),
    "no-timing": (without_section(PROFILE, "timing"), "[timing]"),
    "no-static": (without_section(PROFILE, "static"), "[static]"),
    "no-mesh": (without_section(PROFILE, "mesh"), "[mesh]"),
    "energy-nan": (profile_text("synaptic_op =", 'synaptic_op = { value = nan, unit = "pJ", source = "s" }'),
                   "energy.synaptic_op"),
    "energy-negative": (profile_text("synaptic_op =", 'synaptic_op = { value = -1.0, unit = "pJ", source = "s" }'),
                        "energy.synaptic_op"),
    "energy-unit": (profile_text("synaptic_op =", 'synaptic_op = { value = 1.0, unit = "furlongs", source = "s" }'),
                    "energy.synaptic_op"),
    "mesh-zero": (profile_text("cores_per_tile =", 'cores_per_tile = { value = 0, unit = "", source = "s" }'),
                  "mesh.cores_per_tile"),
    "no-name": (profile_text("name =", ""), "'name'"),
    "not-toml": ("name = [\n", "not valid TOML"),
    "section-entry-not-table": (profile_text("cores =", "cores = 128"), "limits.cores"),
}
for name, (text, expect) in PROFILE_CASES.items():
    config_case(f"profile-file-{name}", changed(("hardware", "profile", "{case}/chip.toml")), ["chip.toml", expect],
                **{"chip.toml": text})
config_case("profile-file-latin1", changed(("hardware", "profile", "{case}/chip.toml")), ["chip.toml", "UTF-8"],
            **{"chip.toml": PROFILE.encode() + "# caf\u00e9\n".encode("latin-1")})
config_case("profile-file-utf16", changed(("hardware", "profile", "{case}/chip.toml")), ["chip.toml", "UTF-8"],
            **{"chip.toml": PROFILE.encode("utf-16")})
config_case("profile-file-binary", changed(("hardware", "profile", "{case}/chip.toml")), ["chip.toml"],
            **{"chip.toml": bytes(range(256)) * 4})
for index, (key, value) in enumerate([("du", 5000), ("du", math.nan), ("du", "1"), ("du", -1), ("vth", True),
                                      ("vth", 10**9), ("weight_bits", {"low": 0, "high": 8}),
                                      ("weight_bits", {"low": 2, "high": 9}), ("weight_bits", {"low": 8, "high": 2}),
                                      ("weight_bits", {"low": 2, "high": 8, "log": "true"}),
                                      ("weight_bits", {"choices": [2, 2.5]}), ("neurons_per_core", 0),
                                      ("neurons_per_core", 10**9), ("neurons_per_core", math.inf)]):
    config_case(f"hardware-{key}-{index}", changed(("hardware", key, value)), [f"hardware.{key}"])

# ---- [objectives] and [constraints]
config_case("objectives-empty", changed(("objectives", None, {})), ["[objectives]"])
config_case("objectives-not-table", changed(("objectives", None, "accuracy")), ["[objectives]"])
for index, (key, value) in enumerate([("accuracy", "up"), ("accuracy", 1), ("accuracy", True), ("happiness", "maximize")]):
    config_case(f"objectives-{index}", changed(("objectives", None, {key: value})), [f"objectives.{key}"])
for index, value in enumerate(["cores <= 64", [3], ["cores <= nan"], ["cores <= inf"], ["cores <= -inf"],
                               ["mood <= 3"], ["cores < lots"], ["cores == 3"], ["cores <= 64 and"], [""]]):
    config_case(f"constraints-{index}", changed(("constraints", "rules", value)), ["constraints.rules"])

# ---- the config file itself
config_case("file-latin1-comment", "# caf\u00e9\n".encode("latin-1") + toml_text(GOOD).encode(), ["UTF-8"])
config_case("file-utf16", toml_text(GOOD).encode("utf-16"), ["UTF-8"])
config_case("file-binary", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), ["UTF-8"])
config_case("file-not-toml", "[study\nname = 1\n", ["not valid TOML"])
config_case("file-top-level-key", "name = 3\n" + toml_text(GOOD), ["[name]"])
config_case("file-section-array", "[[study]]\nname = \"x\"\n", ["[study]"])
config_case("file-section-scalar", "study = 3\n", ["[study]"])
config_case("file-unknown-section", "[studdy]\nname = \"x\"\n", ["[studdy]"])
add("file-missing", ["sweep", "{case}/missing.toml", "--study", "{case}/s.sqlite"], ["missing.toml", "does not exist"])
add("file-is-folder", ["sweep", "{work}/inputs", "--study", "{case}/s.sqlite"], ["inputs", "is a folder"])

# ---- sweep flags (on a valid config: the flag alone is at fault)
GOOD_FILES = {"sweep.toml": toml_text(GOOD)}
for index, (flags, expect) in enumerate([
    (["--trials", "0"], "--trials"), (["--trials", "-1"], "--trials"), (["--trials", "99999999999"], "--trials"),
    (["--trials", "two"], "--trials"), (["--timeout", "-5"], "--timeout"), (["--timeout", "nan"], "--timeout"),
    (["--timeout", "inf"], "--timeout"), (["--timeout", "-inf"], "--timeout"), (["--timeout", "soon"], "--timeout"),
    (["--workers", "0"], "--workers"), (["--workers", "-3"], "--workers"), (["--workers", "5000"], "--workers"),
    (["--workers", "1.5"], "--workers"), (["--scheduler", "nowhere"], "--scheduler"),
    (["--scheduler", "http://x:1"], "--scheduler"), (["--scheduler", ""], "--scheduler"),
    (["--trials", "0", "--json"], "--trials"), (["--bogus"], "--bogus"),
]):
    add(f"sweep-flag-{index}", ["sweep", "{case}/sweep.toml", "--study", "{case}/s.sqlite", *flags], [expect],
        files=GOOD_FILES)
for index, (study, expect) in enumerate([
    ("{work}/inputs", "is a folder"), ("{work}/inputs/notes.txt/s.sqlite", "notes.txt"),
    ("{work}/inputs/notes.txt", "not a SQLite file"), ("{work}/inputs/empty.sqlite", "not a SQLite file"),
    ("{work}/inputs/plain.sqlite", "not a study"), ("{work}/study.sqlite", "different study"),
]):
    add(f"sweep-study-{index}", ["sweep", "{case}/sweep.toml", "--study", study], [expect], files=GOOD_FILES)
add("sweep-default-study-path", ["sweep", "{case}/sweep.toml"], ["study.name"],
    files={"sweep.toml": toml_text(changed(("study", "name", "a/b")))})

# ---- commands that read a study: bad study files and damaged metadata
BAD_STUDIES = {
    "missing": ("{case}/missing.sqlite", "does not exist", {}),
    "folder": ("{work}/inputs", "is not a file", {}),
    "text": ("{work}/inputs/notes.txt", "not a SQLite file", {}),
    "empty": ("{work}/inputs/empty.sqlite", "not a SQLite file", {}),
    "plain-sqlite": ("{work}/inputs/plain.sqlite", "not a study", {}),
}
META_DAMAGE = {
    "config-list": ("UPDATE meta SET value = '[1, 2]' WHERE key = 'config'", "config"),
    "config-not-json": ("UPDATE meta SET value = '{oops' WHERE key = 'config'", "meta"),
    "config-no-objectives": ("UPDATE meta SET value = '{\"study\": {}}' WHERE key = 'config'", "objectives"),
    "objectives-list": ("UPDATE meta SET value = '{\"objectives\": [\"accuracy\"]}' WHERE key = 'config'", "objectives"),
    "objectives-direction": ("UPDATE meta SET value = '{\"objectives\": {\"accuracy\": \"up\"}}' WHERE key = 'config'",
                             "objectives"),
    "schema-newer": ("UPDATE meta SET value = '99' WHERE key = 'schema_version'", "schema version 99"),
    "schema-text": ("UPDATE meta SET value = '\"one\"' WHERE key = 'schema_version'", "schema_version"),
    "no-name": ("DELETE FROM meta WHERE key = 'name'", "meta"),
    "no-trials-table": ("DROP TABLE trials", "not a study"),
}
STUDY_COMMANDS = {
    "status": ["status", "{study}"],
    "status-json": ["status", "{study}", "--json"],
    "pareto": ["pareto", "{study}"],
    "report": ["report", "{study}", "--out", "{case}/r.html"],
    "export": ["export", "{study}", "--out", "{case}/out"],
}
for command, argv in STUDY_COMMANDS.items():
    for name, (study, expect, _) in BAD_STUDIES.items():
        add(f"{command}-study-{name}", [arg.replace("{study}", study) for arg in argv], [expect])
    for name, (statement, expect) in META_DAMAGE.items():
        add(f"{command}-meta-{name}", [arg.replace("{study}", "{case}/s.sqlite") for arg in argv], ["s.sqlite", expect],
            copy={"s.sqlite": "study.sqlite"}, edit_sql=("s.sqlite", [statement]))

# ---- export: flags and outputs
for index, (flags, expect) in enumerate([
    (["--trial", "-1"], "-1"), (["--trial", "99999999999999999999"], "99999999999999999999"),
    (["--trial", "4"], "trial 4"), (["--trial", "77"], "77"), (["--trial", "x"], "--trial"),
    (["--pick", "accuracy >= nan"], "accuracy >= nan"), (["--pick", "bogus"], "bogus"),
    (["--pick", "accuracy >="], "accuracy >="), (["--pick", "mood >= 1"], "mood"),
    (["--pick", "accuracy >= 2"], "matches none"), (["--trial", "1", "--pick", "knee"], "--pick"),
]):
    add(f"export-flag-{index}", ["export", "{work}/study.sqlite", "--out", "{case}/out", *flags], [expect])
for index, (out, expect) in enumerate([("{work}/inputs/notes.txt", "not a folder"),
                                       ("{work}/inputs/notes.txt/out", "notes.txt"),
                                       ("{work}/export", "already exists")]):
    add(f"export-out-{index}", ["export", "{work}/study.sqlite", "--out", out, "--trial", "0"], [expect])

# ---- report: outputs (a refused report writes neither the figures nor the HTML)
for index, (flags, expect) in enumerate([
    (["--out", "{work}/inputs"], "is a folder"), (["--out", "{work}/inputs/notes.txt/r.html"], "notes.txt"),
    (["--out", "{case}/no/such/r.html"], "does not exist"),
    (["--out", "{case}/r.html", "--png", "{work}/inputs/notes.txt"], "not a folder"),
    (["--out", "{case}/r.html", "--png", "{work}/inputs/notes.txt/figures"], "notes.txt"),
    (["--out", "{case}/r.html", "--png", "{work}/inputs/notes.txt/a/b"], "notes.txt"),
]):
    add(f"report-out-{index}", ["report", "{work}/study.sqlite", *flags], [expect])

# ---- init
for index, (path, flags, expect) in enumerate([
    ("{work}/inputs", [], "is a folder"), ("{work}/inputs/notes.txt/c.toml", [], "notes.txt"),
    ("{work}/inputs/notes.txt", [], "already exists"), ("{case}/no/such/c.toml", [], "does not exist"),
    ("{work}/inputs", ["--overwrite"], "is a folder"),
]):
    add(f"init-{index}", ["init", path, *flags], [expect])

# ---- deploy-run on damaged export folders (refused before Lava runs)
DEPLOYMENT_DAMAGE = [
    ("deployment.json", "timesteps", "8"), ("deployment.json", "timesteps", 0), ("deployment.json", "timesteps", True),
    ("deployment.json", "timesteps", 10**9), ("deployment.json", "timesteps", DELETE), ("deployment.json", "timesteps", 2.5),
    ("deployment.json", "evaluation_samples", 0), ("deployment.json", "evaluation_samples", "all"),
    ("deployment.json", "pad_steps", -1), ("deployment.json", "pad_steps", 10**9),
    ("deployment.json", "encoding_seed", -1), ("deployment.json", "encoding_seed", "s"),
    ("deployment.json", "neurons_per_core", 0), ("deployment.json", "profile", "loihi9"),
    ("deployment.json", "profile", 3), ("deployment.json", "lava.reset_interval", 1000000),
    ("deployment.json", "lava.reset_interval", 1), ("deployment.json", "lava.reset_interval", "8"),
    ("deployment.json", "lava.engine", "warp"), ("deployment.json", "lava", []),
    ("deployment.json", "encoder", "rate"), ("deployment.json", "encoder.name", "morse"),
    ("deployment.json", "encoder.name", DELETE), ("deployment.json", "encoder.params", {"max_rate": 5.0}),
    ("deployment.json", "encoder.params", {"speed": 1}), ("deployment.json", "dataset.name", "mnist"),
    ("deployment.json", "dataset.seed", -1), ("deployment.json", "dataset.options", {"test_fraction": 0.99}),
    ("deployment.json", "dataset.options", {"max_samples": 0}), ("deployment.json", "dataset.options", {"path": "x"}),
    ("metrics.json", "metrics.test_accuracy", "high"), ("metrics.json", "metrics", [1, 2]),
    ("metrics.json", "metrics.energy", 3), ("metrics.json", "metrics.energy_per_inference_uj", True),
]
for index, (name, key, value) in enumerate(DEPLOYMENT_DAMAGE):
    add(f"deploy-run-{name.split('.')[0]}-{key}-{index}", ["deploy-run", "{case}/export"], [name, key.split(".")[-1]],
        copy={"export": "export"}, edit_json=(f"export/{name}", key, value))
DEPLOYMENT_FILES = {
    "not-json": ("deployment.json", b"{oops", "not valid JSON"),
    "latin1": ("deployment.json", b'{"x": "caf\xe9"}', "UTF-8"),
    "utf16": ("deployment.json", '{"timesteps": 8}'.encode("utf-16"), "UTF-8"),
    "nan": ("deployment.json", b'{"timesteps": NaN}', "NaN"),
    "list": ("deployment.json", b"[1, 2]", "JSON object"),
    "metrics-not-json": ("metrics.json", b"{oops", "not valid JSON"),
    "metrics-binary": ("metrics.json", bytes(range(256)), "UTF-8"),
    "metrics-infinity": ("metrics.json", b'{"metrics": {"test_accuracy": Infinity}}', "Infinity"),
}
for case_name, (name, data, expect) in DEPLOYMENT_FILES.items():
    add(f"deploy-run-file-{case_name}", ["deploy-run", "{case}/export"], [name, expect],
        copy={"export": "export"}, files={f"export/{name}": data})
for index, (argv, expect) in enumerate([
    (["deploy-run", "{case}/missing"], "does not exist"), (["deploy-run", "{work}/inputs/notes.txt"], "not a folder"),
    (["deploy-run", "{work}/inputs"], "lacks"), (["deploy-run", "{work}/export", "--samples", "0"], "--samples"),
    (["deploy-run", "{work}/export", "--samples", "-4"], "--samples"),
    (["deploy-run", "{work}/export", "--samples", "many"], "--samples"),
]):
    add(f"deploy-run-arg-{index}", argv, [expect])


# --------------------------------------------------------------------------- workspace


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("bad_input")
    inputs = work / "inputs"
    inputs.mkdir()
    (inputs / "notes.txt").write_text("not a study\n")
    (inputs / "empty.sqlite").write_bytes(b"")
    (inputs / "shd.h5").write_bytes(b"\x89HDF\r\n\x1a\n")  # exists: option checks do not read it
    connection = sqlite3.connect(inputs / "plain.sqlite")
    connection.execute("CREATE TABLE t (x)")
    connection.commit()
    connection.close()
    crafted_study(work / "study.sqlite")
    export_trial(work / "study.sqlite", work / "export", trial=0)
    return work


def photo(root: Path) -> dict[str, str]:
    """Every file (with its content hash) and folder under `root`."""
    seen = {}
    for folder, folders, files in os.walk(root):
        for name in folders:
            seen[os.path.relpath(os.path.join(folder, name), root)] = "dir"
        for name in files:
            path = os.path.join(folder, name)
            with open(path, "rb") as handle:
                seen[os.path.relpath(path, root)] = hashlib.sha256(handle.read()).hexdigest()
    return seen


def fill(text: str, case_dir: Path, work: Path) -> str:
    return text.replace("{case}", str(case_dir)).replace("{work}", str(work))


def edit_json(path: Path, dotted: str, value) -> None:
    data = json.loads(path.read_text())
    *parents, last = dotted.split(".")
    table = data
    for key in parents:
        table = table[key]
    if value is DELETE:
        del table[last]
    else:
        table[last] = value
    path.write_text(json.dumps(data))


def prepare(case: Case, work: Path) -> Path:
    case_dir = work / "cases" / case.id
    case_dir.mkdir(parents=True)
    for target, source in case.copy.items():
        (shutil.copytree if (work / source).is_dir() else shutil.copy)(work / source, case_dir / target)
    for name, data in case.files.items():
        path = case_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            path.write_text(fill(data, case_dir, work))
        else:
            path.write_bytes(data)
    if case.edit_sql is not None:
        connection = sqlite3.connect(case_dir / case.edit_sql[0])
        for statement in case.edit_sql[1]:
            connection.execute(statement)
        connection.commit()
        connection.close()
    if case.edit_json is not None:
        edit_json(case_dir / case.edit_json[0], case.edit_json[1], case.edit_json[2])
    return case_dir


def run_in_process(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse refusing a flag
            code = exit_.code
    return code, out.getvalue(), err.getvalue()


def test_there_are_at_least_300_distinct_cases():
    assert len(CASES) >= 300
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_malformed_input_is_refused_cleanly(case, workspace, monkeypatch):
    monkeypatch.chdir(workspace)
    case_dir = prepare(case, workspace)
    argv = [fill(arg, case_dir, workspace) for arg in case.argv]
    before = photo(workspace)
    code, out, err = run_in_process(argv)
    assert code == 2, (code, out, err)
    assert "Traceback" not in out + err
    for fragment in case.expect:
        assert fill(fragment, case_dir, workspace) in err, err
    assert photo(workspace) == before, "the refused command changed the file system"


# --------------------------------------------------------------------------- real processes


def run_codesign(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "codesign", *args], capture_output=True, text=True, timeout=300, cwd=cwd)


def test_real_processes_refuse_without_traceback_or_files(workspace, tmp_path):
    """A few cases as a user runs them: a separate process, its own stdout and stderr."""
    (tmp_path / "latin.toml").write_bytes("# caf\u00e9\n".encode("latin-1") + toml_text(GOOD).encode())
    (tmp_path / "nan.toml").write_text(toml_text(changed(("budget", "timeout_s", math.nan))))
    (tmp_path / "shd.toml").write_text(toml_text(changed(("dataset", None, {"name": "shd"}))))
    notes = workspace / "inputs" / "notes.txt"
    before = photo(tmp_path), photo(workspace)
    runs = [
        (["sweep", "latin.toml"], "latin.toml is not UTF-8"),
        (["sweep", "nan.toml", "--trials", "0"], "budget.timeout_s = nan"),
        (["sweep", "shd.toml"], "option 'path' is required"),
        (["report", str(workspace / "study.sqlite"), "--out", "r.html", "--png", f"{notes}/figures"], "notes.txt"),
    ]
    for args, expect in runs:
        done = run_codesign(*args, cwd=tmp_path)
        assert done.returncode == 2, done
        assert "Traceback" not in done.stdout + done.stderr
        assert expect in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert (photo(tmp_path), photo(workspace)) == before


# --------------------------------------------------------------------------- damaged rows: reported, the rest used

DAMAGE = {  # trial number -> (column, stored text): each breaks one field of one row
    1: ("params", "{not json"),
    2: ("values", '{"accuracy": "high", "energy_per_inference_uj": 1.0}'),
    3: ("timings", "[1, 2]"),
}


@pytest.fixture
def damaged_study(workspace, tmp_path) -> Path:
    path = tmp_path / "damaged.sqlite"
    shutil.copy(workspace / "study.sqlite", path)
    shutil.copytree(workspace / "study_artifacts", tmp_path / "damaged_artifacts")
    connection = sqlite3.connect(path)
    for number, (column, text) in DAMAGE.items():
        connection.execute(f'UPDATE trials SET "{column}" = ? WHERE number = ?', (text, number))
    connection.commit()
    connection.close()
    return path


def test_damaged_rows_are_named_and_the_rest_of_the_study_is_used(damaged_study, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = run_in_process(["status", str(damaged_study)])
    assert code == 0 and "Traceback" not in out + err
    for number, (column, _) in DAMAGE.items():
        assert f"trial {number}: stored field '{column}" in err  # values.accuracy names the key inside
    assert out.count("damaged") >= len(DAMAGE)
    assert " 0 *" in out and "5" in out  # undamaged trials are listed, the front marked

    code, out, err = run_in_process(["status", str(damaged_study), "--json"])
    shown = json.loads(out)
    assert code == 0 and [t["number"] for t in shown["trials"]] == [0, 4, 5]
    assert {(d["number"], d["field"]) for d in shown["damaged"]} == {(1, "params"), (2, "values.accuracy"),
                                                                       (3, "timings")}

    code, out, err = run_in_process(["pareto", str(damaged_study), "--json"])
    assert code == 0 and [t["number"] for t in json.loads(out)["front"]] == [0, 5]  # 1 and 2 were on it
    assert "trial 1" in err and "trial 2" in err

    code, out, err = run_in_process(["report", str(damaged_study), "--out", str(tmp_path / "r.html")])
    assert code == 0, err
    assert "Damaged rows" in (tmp_path / "r.html").read_text() and "trial 2" in out

    code, out, err = run_in_process(["export", str(damaged_study), "--out", str(tmp_path / "x"), "--trial", "1"])
    assert code == 2 and "trial 1: stored field 'params' is damaged" in err and not (tmp_path / "x").exists()


@pytest.mark.parametrize("params", ['{"encoder": [1, 2], "timesteps": {"a": 1}}', '{"encoder": null, "timesteps": "six"}',
                                    "{}", '{"encoder": "rate", "timesteps": 6, "trainer": "slayer", "colour": 1}'])
def test_params_outside_the_search_space_are_named_and_left_out(workspace, tmp_path, params):
    """JSON that reads back but does not fit the study's space (a hand-edited row): named, not a crash."""
    path = tmp_path / "misfit.sqlite"
    shutil.copy(workspace / "study.sqlite", path)
    shutil.copytree(workspace / "study_artifacts", tmp_path / "misfit_artifacts")
    connection = sqlite3.connect(path)
    connection.execute("UPDATE trials SET params = ? WHERE number IN (0, 1)", (params,))  # two front trials
    connection.commit()
    connection.close()
    code, out, err = run_in_process(["report", str(path), "--out", str(tmp_path / "r.html")])
    assert code == 0 and "trial 0: stored field 'params' does not fit the study's search space" in out, out + err
    code, out, err = run_in_process(["export", str(path), "--out", str(tmp_path / "one"), "--trial", "1"])
    assert code == 2 and "trial 1: stored field 'params' does not fit" in err and "Traceback" not in err
    code, out, err = run_in_process(["export", str(path), "--out", str(tmp_path / "knee"), "--json"])
    assert code == 0 and json.loads(out)["trial"] not in (0, 1), err


# --------------------------------------------------------------------------- tables fit 80 columns; --wide shows all


def test_status_and_pareto_fit_80_columns_and_wide_shows_every_param(workspace, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    study = str(workspace / "study.sqlite")
    for command in ("status", "pareto"):
        code, out, err = run_in_process([command, study])
        assert code == 0, err
        table = [line for line in out.splitlines() if line[:1] in "┏┃┡│└"]
        assert table and max(len(line) for line in out.splitlines()) <= 80, out
        assert all(line.rstrip()[-1] in "┓┃┩│┘" for line in table), out  # whole, not cropped at the edge
        code, wide, err = run_in_process([command, study, "--wide"])
        assert code == 0, err
        rows = [line for line in wide.splitlines() if "slayer.learning_rate=" in line]
        assert rows and all("trainer=slayer" in row and "weight_bits=" in row for row in rows), wide
        assert max(len(line) for line in wide.splitlines()) > 80


def test_lava_dl_import_prints_no_prophesee_banner():
    code = "from hw_models.lava_compat import import_lava_dl; import_lava_dl(); print('imported')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "imported"
    assert "Prophesee" not in done.stdout + done.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders; the file-blocked cases above cover it")
def test_read_only_outputs_are_refused_with_their_path(workspace, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        before = photo(tmp_path)
        for argv, named in [
            (["report", str(workspace / "study.sqlite"), "--out", str(locked / "r.html")], locked / "r.html"),
            (["report", str(workspace / "study.sqlite"), "--out", str(tmp_path / "r.html"), "--png", str(locked / "f")],
             locked / "f"),
            (["export", str(workspace / "study.sqlite"), "--out", str(locked / "out")], locked / "out"),
            (["init", str(locked / "c.toml")], locked / "c.toml"),
        ]:
            code, out, err = run_in_process(argv)
            assert code == 2 and str(named) in err and "not writable" in err, err
        assert photo(tmp_path) == before  # no report.html beside the refused figures
    finally:
        locked.chmod(0o755)
