"""Steps that turn raw recordings into brain stores."""

from __future__ import annotations

from brainbridge.steps.contract import declare
from brainbridge.steps.units import as_list, write_brain

DATASET_SETTINGS = "the dataset's settings (datasets.NAME, paths expanded)"


@declare(
    inputs={"raw": "raw M/EEG file", "events": "event-code table TSV"},
    outputs={"store": "epochs (or continuous) store"},
    params={"name": "dataset name", "preprocessing": "datasets.NAME.preprocessing"},
    extra_params=DATASET_SETTINGS,
)
def ingest_eeg(inputs: dict, outputs: dict, params: dict) -> None:
    """Raw M/EEG + event-code table -> preprocessed epochs store."""
    from brainbridge.ingest.meeg import ingest_meeg

    ds = ingest_meeg(
        inputs["raw"],
        inputs["events"],
        params["preprocessing"],
        modality=params.get("modality", "eeg"),
        store=params.get("store", "epochs"),
    )
    kind = "continuous" if params.get("store") == "continuous" else "epochs"
    write_brain(ds, kind=kind, step="ingest-eeg", inputs=inputs, outputs=outputs, params=params)


@declare(
    inputs={"files": "raw, BIDS or evoked files"},
    outputs={"store": "epochs or continuous store", "qc": "QC record (JSON)"},
    params={"name": "dataset name"},
    extra_params=DATASET_SETTINGS,
)
def ingest_recording(inputs: dict, outputs: dict, params: dict) -> None:
    """Real M/EEG (raw files, BIDS runs or evoked files) -> epochs / continuous store + QC."""
    from brainbridge.ingest.meeg import ingest_dataset
    from brainbridge.ingest.meeg.qc import write_qc

    files = as_list(inputs.get("files"))
    ds, qc = ingest_dataset(files, params, seed=int(params.get("seed", 0)))
    qc["dataset"] = params["name"]
    kind = "continuous" if params.get("store") == "continuous" else "epochs"
    write_brain(ds, kind=kind, step="ingest-meeg", inputs=inputs, outputs=outputs, params=params)
    write_qc(qc, outputs["qc"])


@declare(
    outputs={"html": "QC report HTML"},
    optional_inputs={
        "qc": "QC records (JSON)",
        "tokenizer_health": "codebook health TSVs of the tokenizers",
        "tokenizer_probes": "linear-probe TSVs of the tokenizers",
        "trf": "temporal response function stores (feature files)",
    },
    optional_params={"title": "report title"},
)
def qc_report(inputs: dict, outputs: dict, params: dict) -> None:
    """An HTML report of the QC records (for configs that only ingest brain data)."""
    from brainbridge.report.html import build_report
    from brainbridge.report.qc import qc_section, read_qc_records
    from brainbridge.report.tokenizers import tokenizer_section

    records = read_qc_records(as_list(inputs.get("qc")))
    tokenizers = tokenizer_section(
        as_list(inputs.get("tokenizer_health")), as_list(inputs.get("tokenizer_probes"))
    )
    extra = [qc_section(records)] + ([tokenizers] if tokenizers else [])
    if as_list(inputs.get("trf")):
        from brainbridge.report.trf import trf_section

        extra.append(trf_section(as_list(inputs.get("trf"))))
    build_report(
        encoding=[],
        alignment=[],
        out=outputs["html"],
        title=params.get("title", "brainbridge report"),
        extra_sections=extra,
    )


@declare(
    inputs={"bold": "BOLD runs (NIfTI)"},
    optional_inputs={
        "events": "event TSVs, one per run",
        "confounds": "confound TSVs, one per run",
        "atlas": "atlas image",
        "atlas_labels": "atlas label table",
    },
    outputs={"store": "responses store"},
    params={"name": "dataset name"},
    optional_params={"run_labels": "BIDS run labels", "run_tr": "BIDS run TRs"},
    extra_params=DATASET_SETTINGS,
)
def ingest_fmri(inputs: dict, outputs: dict, params: dict) -> None:
    """BOLD runs + events (+ confounds, regions) -> single-trial responses store.

    Everything is computed before the store is written (atomically), so a bad input leaves no
    partial store.
    """
    from brainbridge.ingest.fmri import ingest_fmri as ingest_fmri_runs
    from brainbridge.ingest.fmri import plain_runs

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
