"""BIDS fMRI run discovery: raw and fMRIPrep derivatives, label matching, inheritance, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brainbridge.ingest.fmri.bids import FmriRun, find_bids_runs, label_matches
from brainbridge.simulate.fmri_bids import SPACE, simulate_bids_fmri


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    return simulate_bids_fmri(tmp_path_factory.mktemp("bids") / "ds", runs=3, seed=1)


def make_tree(root: Path, files: dict[str, dict | str | None]) -> Path:
    """Files under ``root``: dicts become JSON, strings text, None an empty file."""
    for name, content in {"dataset_description.json": {"Name": "t"}, **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, dict):
            path.write_text(json.dumps(content))
        else:
            path.write_text(content or "")
    return root


EVENTS = "onset\tduration\ttrial_type\n1\t1\ta\n"


def raw_run(sub="01", task="rest", run=None, ses=None, tr=2.0, events=True) -> dict:
    folder = f"sub-{sub}/" + (f"ses-{ses}/" if ses else "") + "func/"
    stem = f"sub-{sub}" + (f"_ses-{ses}" if ses else "") + f"_task-{task}"
    stem += f"_run-{run}" if run else ""
    files = {f"{folder}{stem}_bold.nii.gz": None}
    if tr is not None:
        files[f"{folder}{stem}_bold.json"] = {"RepetitionTime": tr}
    if events:
        files[f"{folder}{stem}_events.tsv"] = EVENTS
    return files


def test_label_matches_numbers():
    assert label_matches("01", 1) and label_matches("1", "01") and label_matches("a", "a")
    assert not label_matches("01", "10") and not label_matches(None, "1")
    assert not label_matches("a1", "1")


def test_raw_runs_of_simulated_dataset(sim):
    runs = find_bids_runs(sim.root, 1)  # "1" finds sub-01; the one task needs no name
    assert [r.label for r in runs] == ["1", "2", "3"]
    assert [r.bold for r in runs] == sim.bold
    assert [r.events for r in runs] == sim.events
    assert all(r.confounds is None and r.tr == 1.0 for r in runs)
    assert isinstance(runs[0], FmriRun)


def test_derivative_runs_of_simulated_dataset(sim):
    runs = find_bids_runs(
        sim.root, "sub-01", task="sim", runs=["03", 1], space=SPACE, derivatives=sim.derivatives
    )
    assert [r.label for r in runs] == ["1", "3"]  # sorted by run, whatever the order asked
    assert [r.bold for r in runs] == [sim.preproc[0], sim.preproc[2]]
    assert [r.confounds for r in runs] == [sim.confounds[0], sim.confounds[2]]
    assert [r.events for r in runs] == [sim.events[0], sim.events[2]]  # from the raw dataset
    assert all(r.tr == 1.0 for r in runs)
    # one space only: it need not be named
    assert len(find_bids_runs(sim.root, "01", derivatives=sim.derivatives)) == 3


def test_sessions_runs_padding_and_inheritance(tmp_path):
    files = {"task-rest_bold.json": {"RepetitionTime": 2.5}}  # inherited by every run
    for ses in ("2", "1"):
        for run in ("10", "02", "01"):
            files |= raw_run(ses=ses, run=run, tr=None)
    files |= raw_run(sub="02", run="1", tr=None)
    root = make_tree(tmp_path, files)
    runs = find_bids_runs(root, 1, session=None)
    order = [(r.bold.parent.parent.name, r.label) for r in runs]
    # across sessions the label names the session too, so that trials keep distinct runs
    want = [(f"ses-{s}", f"ses-{s}_run-{r}") for s in ("1", "2") for r in ("01", "02", "10")]
    assert order == want
    assert all(r.tr == 2.5 for r in runs)
    runs = find_bids_runs(root, "01", session=2, runs=[2, "10"])
    assert [r.label for r in runs] == ["02", "10"]
    assert all("ses-2" in r.bold.name for r in runs)


def test_inherited_events_and_unnumbered_runs(tmp_path):
    files = raw_run(ses="a", tr=1.5, events=False) | raw_run(ses="b", tr=1.5, events=False)
    files["sub-01/sub-01_task-rest_events.tsv"] = EVENTS  # subject level, for both sessions
    root = make_tree(tmp_path, files)
    runs = find_bids_runs(root, "01")
    assert [r.label for r in runs] == ["1", "2"]
    assert {r.events for r in runs} == {root / "sub-01/sub-01_task-rest_events.tsv"}


def test_missing_root_files(tmp_path, sim):
    with pytest.raises(FileNotFoundError, match=r"no dataset_description\.json"):
        find_bids_runs(tmp_path, "01")
    with pytest.raises(FileNotFoundError, match=r"derivatives folder .* does not exist"):
        find_bids_runs(sim.root, "01", derivatives=sim.root / "derivatives" / "nope")
    with pytest.raises(ValueError, match="no func BOLD run found"):
        find_bids_runs(make_tree(tmp_path, {}), "01")


def test_unknown_subject_task_session_run(sim):
    with pytest.raises(ValueError, match=r"no func BOLD run with sub-02 .*\['01'\]"):
        find_bids_runs(sim.root, "02")
    with pytest.raises(ValueError, match=r"task-rest .*task labels found: \['sim'\]"):
        find_bids_runs(sim.root, "01", task="rest")
    with pytest.raises(ValueError, match=r"ses-1 .*ses labels found: \['\(none\)'\]"):
        find_bids_runs(sim.root, "01", session=1)
    with pytest.raises(ValueError, match=r"no run '4' .*runs found: \['1', '2', '3'\]"):
        find_bids_runs(sim.root, "01", runs=[1, 4])
    with pytest.raises(ValueError, match=r"no func BOLD run with sub-07 .*desc-preproc"):
        find_bids_runs(sim.root, "07", derivatives=sim.derivatives)


def test_several_tasks_need_a_choice(tmp_path):
    root = make_tree(tmp_path, raw_run(task="rest") | raw_run(task="faces"))
    with pytest.raises(ValueError, match=r"several tasks \['faces', 'rest'\].*task: NAME"):
        find_bids_runs(root, "01")
    assert len(find_bids_runs(root, "01", task="faces")) == 1


def test_run_without_events(tmp_path):
    root = make_tree(tmp_path, raw_run(run="1") | raw_run(run="2", events=False))
    with pytest.raises(ValueError, match=r"run-2_bold.nii.gz: the run has no events file"):
        find_bids_runs(root, "01")


def test_mismatched_repetition_times(tmp_path):
    files = raw_run(run="1", tr=2.0) | {"task-rest_bold.json": {"RepetitionTime": 3.0}}
    root = make_tree(tmp_path / "a", files)
    with pytest.raises(ValueError, match=r"RepetitionTime differs between sidecars: 3.0 s"):
        find_bids_runs(root, "01")
    root = make_tree(tmp_path / "b", raw_run(run="1", tr=2.0) | raw_run(run="2", tr=1.0))
    with pytest.raises(ValueError, match="different RepetitionTime"):
        find_bids_runs(root, "01")
    assert find_bids_runs(root, "01", runs=2)[0].tr == 1.0


def derivative_tree(root: Path, spaces: dict[str, list[str]], deriv_tr=2.0) -> Path:
    files = raw_run(run="1") | raw_run(run="2")
    for space, run_labels in spaces.items():
        for run in run_labels:
            stem = f"derivatives/fmriprep/sub-01/func/sub-01_task-rest_run-{run}"
            files[f"{stem}_space-{space}_desc-preproc_bold.nii.gz"] = None
            files[f"{stem}_space-{space}_desc-preproc_bold.json"] = {"RepetitionTime": deriv_tr}
            files[f"{stem}_desc-confounds_timeseries.tsv"] = "trans_x\n0\n"
    return make_tree(root, files)


def test_derivative_errors(tmp_path):
    root = derivative_tree(tmp_path / "a", {"MNI": ["1", "2"], "T1w": ["1", "2"]})
    deriv = root / "derivatives/fmriprep"
    with pytest.raises(ValueError, match=r"several spaces \['MNI', 'T1w'\]"):
        find_bids_runs(root, "01", derivatives=deriv)
    with pytest.raises(ValueError, match=r"space 'fsnative' \(spaces found: \['MNI', 'T1w'\]\)"):
        find_bids_runs(root, "01", space="fsnative", derivatives=deriv)
    runs = find_bids_runs(root, "01", space="T1w", derivatives=deriv)
    assert [r.bold.name for r in runs] == [
        f"sub-01_task-rest_run-{r}_space-T1w_desc-preproc_bold.nii.gz" for r in ("1", "2")
    ]
    assert all(r.confounds.name.endswith("desc-confounds_timeseries.tsv") for r in runs)

    root = derivative_tree(tmp_path / "b", {"MNI": ["1"]})
    deriv = root / "derivatives/fmriprep"
    with pytest.raises(
        ValueError, match=r"no preprocessed run .*\[\{'run': '2', 'task': 'rest'\}\]"
    ):
        find_bids_runs(root, "01", derivatives=deriv)
    assert len(find_bids_runs(root, "01", runs=1, derivatives=deriv)) == 1

    root = derivative_tree(tmp_path / "c", {"MNI": ["1", "2"]}, deriv_tr=2.5)
    with pytest.raises(ValueError, match="RepetitionTime differs between sidecars"):
        find_bids_runs(root, "01", derivatives=root / "derivatives/fmriprep")
