"""Steps that turn raw recordings into brain stores."""

from __future__ import annotations

from brainbridge.ingest.fmri import ingest_fmri as ingest_fmri_runs
from brainbridge.ingest.fmri import plain_runs
from brainbridge.ingest.meeg import ingest_dataset, ingest_meeg
from brainbridge.ingest.meeg.qc import write_qc
from brainbridge.steps.units import as_list, write_brain


def ingest_eeg(inputs: dict, outputs: dict, params: dict) -> None:
    """Raw M/EEG + event-code table -> preprocessed epochs store."""
    ds = ingest_meeg(
        inputs["raw"],
        inputs["events"],
        params["preprocessing"],
        modality=params.get("modality", "eeg"),
    )
    write_brain(ds, kind="epochs", step="ingest-eeg", inputs=inputs, outputs=outputs, params=params)


def ingest_recording(inputs: dict, outputs: dict, params: dict) -> None:
    """Real M/EEG (raw files, BIDS runs or evoked files) -> epochs / continuous store + QC."""
    files = as_list(inputs.get("files"))
    ds, qc = ingest_dataset(files, params, seed=int(params.get("seed", 0)))
    qc["dataset"] = params["name"]
    kind = "continuous" if params.get("store") == "continuous" else "epochs"
    write_brain(ds, kind=kind, step="ingest-meeg", inputs=inputs, outputs=outputs, params=params)
    write_qc(qc, outputs["qc"])


def qc_report(inputs: dict, outputs: dict, params: dict) -> None:
    """An HTML report of the QC records (for configs that only ingest brain data)."""
    from brainbridge.report.html import build_report
    from brainbridge.report.qc import qc_section, read_qc_records

    records = read_qc_records(as_list(inputs.get("qc")))
    build_report(
        encoding=[],
        alignment=[],
        out=outputs["html"],
        title=params.get("title", "brainbridge report"),
        extra_sections=[qc_section(records)],
    )


def ingest_fmri(inputs: dict, outputs: dict, params: dict) -> None:
    """BOLD runs + events (+ confounds, regions) -> single-trial responses store.

    Everything is computed before the store is written (atomically), so a bad input leaves no
    partial store.
    """
    regions = dict(params.get("regions", {}))
    regions.update({k: inputs[k] for k in ("atlas", "atlas_labels") if inputs.get(k)})
    ds = ingest_fmri_runs(
        plain_runs(
            as_list(inputs["bold"]),
            as_list(inputs.get("events")),
            as_list(inputs.get("confounds")),
            labels=params.get("run_labels"),
            trs=params.get("run_tr"),
        ),
        tr=params.get("tr"),
        regions=regions,
        cleaning=params.get("cleaning"),
        glm=params.get("glm"),
        response=params.get("response"),
    )
    write_brain(
        ds, kind="responses", step="ingest-fmri", inputs=inputs, outputs=outputs, params=params
    )
