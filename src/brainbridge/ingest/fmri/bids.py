"""BIDS fMRI runs of one subject: raw BOLD or fMRIPrep derivatives, events and TR.

Raw runs are ``sub-<s>[/ses-<x>]/func/sub-<s>[_ses-<x>]_task-<t>[_run-<r>]_bold.nii[.gz]``;
fMRIPrep runs are ``..._space-<space>_desc-preproc_bold.nii.gz`` in a derivatives folder, with
``..._desc-confounds_timeseries.tsv`` beside them. Events always come from the raw dataset.
Sidecars (``_bold.json``, ``_events.tsv``) follow the BIDS inheritance principle: a file at the
root, subject or session level applies to every run whose entities include its own.
Files are listed with nilearn's BIDS helpers (``get_bids_files``, ``parse_bids_filename``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from nilearn.interfaces.bids import get_bids_files, parse_bids_filename

from brainbridge.ingest.labels import label_matches

__all__ = ["DERIVED_ENTITIES", "FmriRun", "find_bids_runs", "label_matches"]

# entities of a derivative BOLD file that its raw source (and its events) do not have
DERIVED_ENTITIES = ("space", "res", "den", "desc")


@dataclass(frozen=True)
class FmriRun:
    """One BOLD run and what goes with it."""

    bold: Path  # 4D NIfTI (raw, or fMRIPrep desc-preproc)
    events: Path | None  # events TSV (onset, duration, trial_type and/or stimulus)
    confounds: Path | None  # fMRIPrep *_desc-confounds_timeseries.tsv (None for raw BIDS)
    tr: float | None  # RepetitionTime from the JSON sidecar, None when no sidecar
    label: str  # run label as in the file name ("1", "02"; "ses-A_run-1" across sessions)


def _label(value, prefix: str) -> str:
    """A configured label as a string, without its entity prefix (``sub-01`` -> ``01``)."""
    text = str(value)
    return text[len(prefix) + 1 :] if text.startswith(f"{prefix}-") else text


def _order(label: str | None) -> tuple:
    if label is None:
        return (0, -1, "")
    return (1, int(label), label) if label.isdigit() else (2, 0, label)


def _bold_refs(folder: Path, *, preproc: bool) -> list[dict]:
    """Parsed func BOLD NIfTIs of a dataset (raw) or a derivatives folder (desc-preproc)."""
    files = get_bids_files(folder, file_tag="bold", file_type="nii*", modality_folder="func")
    refs = [parse_bids_filename(f) for f in files]
    refs = [r for r in refs if r["extension"] in ("nii", "nii.gz")]
    if preproc:
        return [r for r in refs if r["entities"].get("desc") == "preproc"]
    return [r for r in refs if "desc" not in r["entities"] and "space" not in r["entities"]]


def _values(refs: list[dict], entity: str) -> list[str]:
    found = {r["entities"].get(entity) for r in refs}
    return sorted((v if v is not None else "(none)" for v in found), key=_order)


def _select(refs, entity, wanted, folder, what, fix) -> list[dict]:
    """The refs whose ``entity`` matches ``wanted``; an error listing what exists otherwise."""
    chosen = [r for r in refs if label_matches(r["entities"].get(entity), wanted)]
    if not chosen:
        raise ValueError(
            f"{folder}: no func BOLD run with {entity}-{wanted} for {what} "
            f"({entity} labels found: {_values(refs, entity)}); {fix}."
        )
    return chosen


def _filter(folder, refs, subject, task, session, what) -> list[dict]:
    """The refs of one subject, task and session, with errors that list what exists."""
    if not refs:
        raise ValueError(
            f"{folder}: no func BOLD run found (sub-<s>[/ses-<x>]/func/*_bold.nii[.gz]); "
            "point the BIDS root (or derivatives) at the folder that holds the sub-* folders."
        )
    refs = _select(refs, "sub", subject, folder, what, "check the subject label")
    what = f"{what}, subject {subject!r}"
    tasks = _values(refs, "task")
    if task is None:
        if len(tasks) > 1:
            raise ValueError(
                f"{folder}: subject {subject!r} has runs of several tasks {tasks}; "
                "choose one (task: NAME)."
            )
    else:
        refs = _select(refs, "task", task, folder, what, "check the task name")
    if session is not None:
        refs = _select(refs, "ses", session, folder, what, "check the session label")
    return refs


def _key(ref: dict) -> tuple:
    ents = ref["entities"]
    return tuple(
        sorted((k, v) for k, v in ents.items() if k not in DERIVED_ENTITIES and k != "sub")
    )


def _by_run(refs: list[dict], folder, what: str) -> dict[tuple, dict]:
    """One file per run (session, task, run and other raw entities); an error on duplicates."""
    grouped: dict[tuple, list[dict]] = {}
    for ref in refs:
        grouped.setdefault(_key(ref), []).append(ref)
    for files in grouped.values():
        if len(files) > 1:
            names = sorted(r["file_basename"] for r in files)
            raise ValueError(
                f"{folder}: several {what} files for one run: {names}; choose the space "
                "(space: NAME) or keep one variant (acquisition, echo, resolution) per run."
            )
    return {k: v[0] for k, v in grouped.items()}


def _inherited(
    root: Path, func_dir: Path, entities: dict, suffix: str, ext: str, *, derived: bool = False
) -> list[Path]:
    """Sidecars that apply to a file with ``entities``, least specific first (BIDS inheritance).

    They lie in the root, subject, session or func folder, end with ``_<suffix>.<ext>`` and
    carry a subset of the file's own entities (of its raw entities unless ``derived``).
    """
    folders = [root]
    for part in func_dir.relative_to(root).parts:
        folders.append(folders[-1] / part)
    own = {k: v for k, v in entities.items() if derived or k not in DERIVED_ENTITIES}
    found = []
    for depth, folder in enumerate(folders):
        for path in sorted(folder.glob(f"*_{suffix}.{ext}")):
            ents = parse_bids_filename(str(path))["entities"]
            if ents and all(own.get(k) == v for k, v in ents.items()):
                found.append((depth, len(ents), path))
    return [path for *_, path in sorted(found)]


def _repetition_time(sidecars: list[Path]) -> tuple[float | None, Path | None]:
    """The RepetitionTime shared by all sidecars (an error naming both when two differ)."""
    tr, source = None, None
    for path in sidecars:
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"{path}: unreadable JSON sidecar ({err}); fix or remove it.") from err
        value = meta.get("RepetitionTime")
        if value is None:
            continue
        if tr is not None and not np.isclose(float(value), tr, atol=1e-6):
            raise ValueError(
                f"RepetitionTime differs between sidecars: {tr} s in {source} and {value} s in "
                f"{path}; fix the wrong sidecar so that both give the run's TR."
            )
        tr, source = float(value), path
    return tr, source


def _confounds(preproc: Path, entities: dict) -> Path | None:
    """The fMRIPrep confounds TSV beside a preprocessed run (``desc-confounds_timeseries``)."""
    own = {k: v for k, v in entities.items() if k not in DERIVED_ENTITIES}
    for suffix in ("timeseries", "regressors"):  # fMRIPrep >= 20.2, older
        for path in sorted(preproc.parent.glob(f"*_desc-confounds_{suffix}.tsv")):
            ents = parse_bids_filename(str(path))["entities"]
            ents = {k: v for k, v in ents.items() if k not in DERIVED_ENTITIES}
            if ents == own:
                return path
    return None


def find_bids_runs(
    root,
    subject,
    *,
    task=None,
    session=None,
    runs=None,
    space=None,
    derivatives=None,
) -> list[FmriRun]:
    """The BOLD runs of one subject, sorted by session then run.

    ``root`` is the raw BIDS dataset (it holds the events and the raw sidecars). With
    ``derivatives`` (e.g. ``root / "derivatives" / "fmriprep"``) the runs are its
    ``desc-preproc`` BOLD files in ``space`` (needed when several spaces exist), each with its
    confounds TSV; every raw run of the selection must have one. Subject, session and run
    labels match numerically when both sides are numbers (``1`` finds ``sub-01``). ``task``
    may be left out when the subject has one task only; ``runs`` is a label or a list of them.
    """
    root = Path(root)
    if not (root / "dataset_description.json").is_file():
        raise FileNotFoundError(
            f"BIDS root {root} has no dataset_description.json; point the BIDS root at the "
            "folder that holds it (and the sub-* folders)."
        )
    subject = _label(subject, "sub")
    task = None if task is None else _label(task, "task")
    session = None if session is None else _label(session, "ses")
    wanted_runs = None
    if runs is not None:
        wanted_runs = [
            _label(r, "run") for r in (runs if isinstance(runs, list | tuple) else [runs])
        ]

    raw = _bold_refs(root, preproc=False)
    if derivatives is None:
        chosen = _by_run(_filter(root, raw, subject, task, session, "raw BOLD"), root, "BOLD")
        source = root
    else:
        derivatives = Path(derivatives)
        if not derivatives.is_dir():
            raise FileNotFoundError(
                f"derivatives folder {derivatives} does not exist; give the fMRIPrep output "
                f"folder (e.g. {root / 'derivatives' / 'fmriprep'})."
            )
        refs = _filter(
            derivatives,
            _bold_refs(derivatives, preproc=True),
            subject,
            task,
            session,
            "desc-preproc BOLD",
        )
        spaces = _values(refs, "space")
        if space is None and len(spaces) > 1:
            raise ValueError(
                f"{derivatives}: subject {subject!r} has preprocessed runs in several spaces "
                f"{spaces}; choose one (space: NAME)."
            )
        if space is not None:
            refs = [r for r in refs if r["entities"].get("space") == str(space)]
            if not refs:
                raise ValueError(
                    f"{derivatives}: no preprocessed run of subject {subject!r} in space "
                    f"{space!r} (spaces found: {spaces}); choose one of those or rerun fMRIPrep "
                    f"with --output-spaces {space}."
                )
        chosen = _by_run(refs, derivatives, "desc-preproc BOLD")
        if task is None:  # the raw runs of the task the derivatives hold
            task = refs[0]["entities"].get("task")
        raw_runs = [r for r in raw if label_matches(r["entities"].get("sub"), subject)]
        raw_runs = [r for r in raw_runs if r["entities"].get("task") == task]
        if session is not None:
            raw_runs = [r for r in raw_runs if label_matches(r["entities"].get("ses"), session)]
        missing = sorted({k for k in map(_key, raw_runs) if k not in chosen}, key=lambda k: str(k))
        missing = [dict(k) for k in missing]
        if wanted_runs is not None:
            missing = [
                m for m in missing if any(label_matches(m.get("run"), w) for w in wanted_runs)
            ]
        if missing:
            raise ValueError(
                f"{derivatives}: no preprocessed run (space {space or spaces[0]!r}) for raw "
                f"run(s) {missing} of subject {subject!r} in {root}; run fMRIPrep on them "
                "or select the runs that have one (runs: [...])."
            )
        source = derivatives

    if wanted_runs is not None:
        present = sorted({str(ref["entities"].get("run")) for ref in chosen.values()}, key=_order)
        for wanted in wanted_runs:
            if not any(
                label_matches(ref["entities"].get("run"), wanted) for ref in chosen.values()
            ):
                raise ValueError(
                    f"{source}: no run {wanted!r} of subject {subject!r}, task {task!r}, "
                    f"session {session!r} (runs found: {present}); check the run labels."
                )
        chosen = {
            k: r
            for k, r in chosen.items()
            if any(label_matches(r["entities"].get("run"), w) for w in wanted_runs)
        }

    ordered = sorted(
        chosen.values(),
        key=lambda r: (_order(r["entities"].get("ses")), _order(r["entities"].get("run"))),
    )
    labels = [r["entities"].get("run") or str(i) for i, r in enumerate(ordered, start=1)]
    found, trs = [], {}
    for index, ref in enumerate(ordered, start=1):
        bold = Path(ref["file_path"])
        ents = ref["entities"]
        raw_dir = root / bold.parent.relative_to(source)
        events = _inherited(root, raw_dir, ents, "events", "tsv")
        if not events:
            stem = "_".join(f"{k}-{v}" for k, v in ents.items() if k not in DERIVED_ENTITIES)
            raise ValueError(
                f"{bold}: the run has no events file (expected {raw_dir / (stem + '_events.tsv')}"
                "); add it (columns onset, duration, trial_type and/or stimulus)."
            )
        sidecars = _inherited(root, raw_dir, ents, "bold", "json")
        confounds = None
        if derivatives is not None:
            sidecars += _inherited(derivatives, bold.parent, ents, "bold", "json", derived=True)
            confounds = _confounds(bold, ents)
        tr, tr_source = _repetition_time(sidecars)
        if tr is not None:
            trs[tr_source] = tr
        label = labels[index - 1]
        if len(set(labels)) < len(labels):  # run labels repeat across sessions: keep them apart
            label = f"ses-{ents.get('ses')}_run-{label}"
        found.append(FmriRun(bold=bold, events=events[-1], confounds=confounds, tr=tr, label=label))
    if len(set(trs.values())) > 1:
        listed = ", ".join(f"{p.name}: {v} s" for p, v in trs.items())
        raise ValueError(
            f"{source}: the selected runs of subject {subject!r} have different "
            f"RepetitionTime ({listed}); select runs with one TR (runs: [...]) or fix the "
            "sidecars."
        )
    return found
