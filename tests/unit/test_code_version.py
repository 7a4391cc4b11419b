"""The code version of a step: which brainbridge modules it imports, and a hash of them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import brainbridge
from brainbridge.code_version import code_version, step_dependencies
from brainbridge.steps import STEPS


def test_each_step_depends_on_what_it_imports_and_nothing_else() -> None:
    align = step_dependencies("align")
    assert {
        "brainbridge.steps.alignment",
        "brainbridge.align.stats",
        "brainbridge.store.io",
    } <= align
    assert not any(m.startswith(("brainbridge.simulate", "brainbridge.encode")) for m in align)
    assert "brainbridge.report.figures" not in align  # the lazy report package: tables only
    eeg, fmri = step_dependencies("simulate-eeg"), step_dependencies("simulate-fmri")
    assert "brainbridge.simulate.eeg" in eeg and "brainbridge.simulate.fmri" not in eeg
    assert "brainbridge.simulate.fmri" in fmri and "brainbridge.simulate.eeg" not in fmri
    assert "brainbridge.extract.run" not in step_dependencies("simulate-stimuli")
    assert "brainbridge.extract.run" in step_dependencies("extract")


def test_versions_are_stable_and_distinct() -> None:
    versions = {step: code_version(step) for step in STEPS}
    assert all(len(v) == 16 for v in versions.values())
    assert versions["align"] != versions["encode"]


def _versions(src: Path) -> dict[str, str]:
    code = (
        "import json; from brainbridge.code_version import code_version as v; "
        "from brainbridge.steps import STEPS; print(json.dumps({s: v(s) for s in STEPS}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
    )
    return json.loads(out.stdout)


def test_an_edit_changes_exactly_the_steps_that_import_the_module(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(
        Path(brainbridge.__file__).parent,
        src / "brainbridge",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    before = _versions(src)
    with open(src / "brainbridge" / "simulate" / "fmri.py", "a", encoding="utf-8") as handle:
        handle.write("\n# an edit\n")
    after = _versions(src)
    assert before.keys() == after.keys()
    assert {s for s in before if before[s] != after[s]} == {"simulate-fmri"}
