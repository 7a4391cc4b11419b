# Raw recordings -> brain stores, one job per dataset (an M/EEG dataset is one subject).
import functools
import os

MEEG_REAL = [
    d
    for d in DATASETS
    if config["datasets"][d]["modality"] in ("eeg", "meg") and config["datasets"][d]["source"] != "simulation"
]


def eeg_inputs(w):
    ds = config["datasets"][w.dataset]
    if ds["source"] == "simulation":
        return {"raw": f"{SIM}/eeg/sim_raw.fif", "events": f"{SIM}/eeg/sim_events.tsv"}
    raise ValueError(f"dataset {w.dataset}: unsupported source {ds['source']!r}")


def fmri_config(dataset):
    """An fMRI dataset's config with its path settings expanded (regions, BIDS root, files)."""
    ds = dict(config["datasets"][dataset])
    regions = dict(ds.get("regions", {}))
    for key in ("mask", "atlas", "atlas_labels", "data_dir"):
        if key in regions:
            regions[key] = path(regions[key])
    if "rois" in regions:
        regions["rois"] = {name: path(p) for name, p in regions["rois"].items()}
    ds["regions"] = regions
    if "bids" in ds:
        ds["bids"] = {k: path(v) if k in ("root", "derivatives") else v for k, v in ds["bids"].items()}
    return ds


def fmri_region_files(dataset):
    """The region images and tables that are files (inputs, so that a change reruns the job)."""
    regions = fmri_config(dataset)["regions"]
    files = [regions[k] for k in ("mask", "atlas", "atlas_labels") if k in regions]
    files += list(regions.get("rois", {}).values())
    return [f for f in files if os.path.isfile(f)]


@functools.cache
def fmri_bids_runs(dataset):
    from brainbridge.ingest.fmri import find_bids_runs

    cfg = fmri_config(dataset)["bids"]
    return find_bids_runs(
        cfg["root"],
        cfg["subject"],
        task=cfg.get("task"),
        session=cfg.get("session"),
        runs=cfg.get("runs"),
        space=cfg.get("space"),
        derivatives=cfg.get("derivatives"),
    )


FMRI_RAW_KEYS = {"bold": "files", "events": "event_files", "confounds": "confound_files"}


def fmri_inputs(w):
    ds = fmri_config(w.dataset)
    if ds["source"] == "simulation":
        runs = range(1, N_RUNS + 1)
        return {
            "bold": [f"{SIM}/fmri/run-{r}_bold.nii.gz" for r in runs],
            "events": [f"{SIM}/fmri/run-{r}_events.tsv" for r in runs],
            "atlas": f"{SIM}/fmri/atlas.nii.gz",
            "atlas_labels": f"{SIM}/fmri/atlas.tsv",
        }
    if ds["source"] == "raw":  # BOLD runs (files) + one events TSV each (+ confounds TSVs)
        inputs = {key: [path(f) for f in ds.get(cfg_key, [])] for key, cfg_key in FMRI_RAW_KEYS.items()}
    elif ds["source"] == "bids":
        runs = fmri_bids_runs(w.dataset)
        inputs = {
            "bold": [str(r.bold) for r in runs],
            "events": [str(r.events) for r in runs if r.events],
            "confounds": [str(r.confounds) for r in runs if r.confounds],
        }
    else:
        raise ValueError(f"dataset {w.dataset}: unsupported fMRI source {ds['source']!r}")
    return {**inputs, "region_files": fmri_region_files(w.dataset)}


def fmri_params(w):
    """The dataset's config (paths expanded) plus the run labels and TRs found in BIDS."""
    ds = fmri_config(w.dataset)
    extra = {}
    if ds["source"] == "bids":
        runs = fmri_bids_runs(w.dataset)
        extra = {"run_labels": [r.label for r in runs], "run_tr": [r.tr for r in runs]}
    return as_json({"name": w.dataset, **ds, **extra})


def meeg_config(dataset):
    """A real M/EEG dataset's config with its path settings expanded."""
    ds = dict(config["datasets"][dataset])
    for key in ("files",):
        if key in ds:
            ds[key] = [path(f) for f in ds[key]]
    for key in ("file", "table"):
        if key in ds.get("events", {}):
            ds["events"] = {**ds["events"], key: path(ds["events"][key])}
    if "bids" in ds:
        ds["bids"] = {**ds["bids"], "root": path(ds["bids"]["root"])}
    return ds


def meeg_files(w):
    ds = meeg_config(w.dataset)
    if ds["source"] == "bids":
        from brainbridge.ingest.meeg.bids import bids_files

        return bids_files(ds["bids"])
    return ds["files"]


def meeg_extra(w):
    """Event files and tables: inputs too, so that a change reruns the job."""
    events = meeg_config(w.dataset).get("events", {})
    return [events[k] for k in ("file", "table") if k in events]


def dataset_params(w):
    return as_json({"name": w.dataset, **config["datasets"][w.dataset]})


rule ingest_eeg:
    input:
        unpack(eeg_inputs),
    output:
        store=directory(f"{OUT}/brain/{{dataset}}.zarr"),
    wildcard_constraints:
        dataset="|".join(
            d
            for d in DATASETS
            if config["datasets"][d]["modality"] in ("eeg", "meg") and d not in MEEG_REAL
        )
        or "^$",
    params:
        cfg=dataset_params,
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        f"{OUT}/logs/ingest/{{dataset}}.log",
    shell:
        ENV + RUN + " ingest-eeg -i raw={input.raw:q} -i events={input.events:q}"
        " -o store={output.store:q} -p {params.cfg} 2> {log:q}"


rule ingest_fmri:
    input:
        unpack(fmri_inputs),
    output:
        store=directory(f"{OUT}/brain/{{dataset}}.zarr"),
    wildcard_constraints:
        dataset="|".join(
            d
            for d in DATASETS
            if config["datasets"][d]["modality"] == "fmri" and config["datasets"][d]["source"] != "rdm"
        )
        or "^$",
    params:
        cfg=fmri_params,
        inputs=lambda w, input: input_args(
            **{k: list(input.get(k)) for k in ("bold", "events", "confounds") if input.get(k)},
            **{k: input.get(k) for k in ("atlas", "atlas_labels") if input.get(k)},
        ),
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        f"{OUT}/logs/ingest/{{dataset}}.log",
    shell:
        ENV + RUN + " ingest-fmri {params.inputs} -o store={output.store:q} -p {params.cfg} 2> {log:q}"


rule ingest_meeg:
    input:
        files=meeg_files,
        extra=meeg_extra,
    output:
        store=directory(f"{OUT}/brain/{{dataset}}.zarr"),
        qc=f"{OUT}/brain/{{dataset}}.qc.json",
    wildcard_constraints:
        dataset="|".join(MEEG_REAL) or "^$",
    params:
        cfg=lambda w: as_json({"name": w.dataset, "seed": config["seed"], **meeg_config(w.dataset)}),
        inputs=lambda w, input: input_args(files=list(input.files)),
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        f"{OUT}/logs/ingest/{{dataset}}.log",
    shell:
        ENV + RUN + " ingest-meeg {params.inputs} -o store={output.store:q} -o qc={output.qc:q}"
        " -p {params.cfg} 2> {log:q}"


rule qc_report:
    input:
        qc=expand(f"{OUT}/brain/{{dataset}}.qc.json", dataset=MEEG_REAL),
    output:
        html=f"{OUT}/qc_report.html",
    params:
        cfg=as_json(config.get("report", {})),
        inputs=lambda w, input: input_args(qc=list(input.qc)),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        f"{OUT}/logs/qc_report.log",
    shell:
        ENV + RUN + " qc-report {params.inputs} -o html={output.html:q} -p {params.cfg} 2> {log:q}"
