"""`codesign report`: one self-contained HTML file, checked by rendering it in headless Chromium.

The page checks itself when opened as `report.html#selftest` (every <img> decoded, one table
row per trial, a header click sorts) and writes the verdict into <body data-selftest>, which
Chromium's --dump-dom prints after the page's scripts ran. `make test` installs Chromium
(Debian package) when it is missing and it runs as root; the rendering test is skipped only
when no Chromium binary exists at all.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess

import pytest
from test_export import crafted_study

from codesign.cli import main
from codesign.errors import CodesignError

# 3 objectives (pairwise Pareto panels), a failed trial, 8 trials with values
THREE = {"accuracy": "maximize", "energy_per_inference_uj": "minimize", "latency_us": "minimize"}
KNOWN3 = [(0.9, 3.0, 5.0), (0.8, 1.0, 4.0), (0.5, 0.5, 9.0), (0.7, 2.0, 8.0), None, (0.85, 1.5, 2.0),
          (0.6, 0.7, 6.0), (0.75, 2.5, 3.0), (0.4, 0.9, 7.0)]


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def render(path, tmp_path) -> dict:
    """Open the report in headless Chromium with #selftest and return the page's own verdict."""
    browser = chromium()
    if browser is None:
        pytest.skip("chromium is not installed (make test installs it with apt-get when run as root)")
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
               f"--user-data-dir={tmp_path / 'chromium-profile'}", "--dump-dom", f"file://{path}#selftest"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    match = re.search(r'data-selftest="([^"]*)"', done.stdout)
    assert match, "the page's self-test did not run:\n" + done.stdout[:2000]
    return json.loads(html.unescape(match.group(1)))


@pytest.fixture(scope="module")
def study3(tmp_path_factory):
    return crafted_study(tmp_path_factory.mktemp("report") / "three.sqlite", known=KNOWN3, objectives=THREE)


@pytest.fixture(scope="module")
def report3(study3):
    """The report of study3 (written once: fitting the importance GPs is the slow part)."""
    out, pngs = study3.parent / "report.html", study3.parent / "figures"
    assert main(["report", str(study3), "--out", str(out), "--png", str(pngs)]) == 0
    return out, pngs


def test_report_renders_its_figures_and_sortable_table_in_chromium(report3, tmp_path):
    out, pngs = report3
    text = out.read_text()
    # self-contained: no external scripts, styles, images or links
    assert not re.search(r'(src|href)="(?!data:|#)', text) and "<link" not in text and "@import" not in text
    assert text.count('src="data:image/png;base64,') == 4
    for section in ("Pareto front", "Hypervolume", "Parameter importance", "Parallel coordinates"):
        assert section in text
    assert sorted(p.name for p in pngs.iterdir()) == ["hypervolume.png", "importance.png", "parallel_coordinates.png",
                                                       "pareto.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs.iterdir())

    verdict = render(out, tmp_path)
    assert verdict["images"] == 4 and verdict["decoded"] == 4, verdict
    assert all(int(size.split("x")[0]) > 200 and int(size.split("x")[1]) > 150 for size in verdict["sizes"])
    assert verdict["rows"] == len(KNOWN3) and verdict["sorted"] is True


def test_table_rows_states_and_front(report3):
    out, _ = report3
    text = out.read_text()
    body = text.split('<table id="trials"', 1)[1]
    assert body.count("<tr") == len(KNOWN3) + 1  # header + one row per trial
    assert body.count('class="front"') == 5  # trials 0, 1, 2, 5, 6 (3 by 1, 7 by 5, 8 by 6)
    assert "RuntimeError: diverged" in body and "failed" in body
    assert "1 trial(s) without objective values" in text


def test_too_few_trials_for_importance_is_a_note(tmp_path, capsys):
    study = crafted_study(tmp_path / "two.sqlite", known=[(0.9, 3.0), (0.8, 1.0)])
    out = tmp_path / "two.html"
    assert main(["report", str(study), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "needs at least 3 trials with objective values" in printed
    text = out.read_text()
    assert "needs at least 3 trials" in text and text.count("data:image/png;base64,") == 3


def test_study_without_complete_trials_still_reports(tmp_path):
    from codesign.report import write_report

    study = crafted_study(tmp_path / "none.sqlite", known=[None])
    summary = write_report(study, tmp_path / "none.html")
    text = (tmp_path / "none.html").read_text()
    assert summary["figures"] == [] and "no trial has objective values" in text and "no complete trials" in text
    assert text.split('<table id="trials"', 1)[1].count("<tr") == 2


def test_bad_input(tmp_path, study3, capsys):
    not_a_study = tmp_path / "x.sqlite"
    not_a_study.write_bytes(b"not sqlite")
    cases = [
        ([str(tmp_path / "missing.sqlite"), "--out", str(tmp_path / "r.html")], "does not exist"),
        ([str(not_a_study), "--out", str(tmp_path / "r.html")], "not a SQLite file"),
        ([str(study3), "--out", str(tmp_path / "no" / "r.html")], "does not exist"),
        ([str(study3), "--out", str(tmp_path)], f"--out {tmp_path} is a folder"),
        ([str(study3), "--out", str(tmp_path / "r.html"), "--png", str(study3)], f"--png {study3} exists and is not a folder"),
    ]
    for argv, message in cases:
        assert main(["report", *argv]) == 2
        error = capsys.readouterr().err.strip()
        assert message in error and "Traceback" not in error and len(error.splitlines()) == 1
    assert not (tmp_path / "r.html").exists()
    from codesign.report import write_report

    with pytest.raises(CodesignError, match="is a folder") as error:  # the library names no flag
        write_report(study3, tmp_path)
    assert "--" not in str(error.value)


def test_chromium_is_found_where_make_test_installs_it():
    """Guards the Makefile's promise: CI runs `make test`, whose chromium prerequisite installs it."""
    if chromium() is None:
        pytest.skip("chromium is not installed (make test installs it with apt-get when run as root)")
    done = subprocess.run([chromium(), "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Chromium" in done.stdout
