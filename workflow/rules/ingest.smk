# Raw recordings -> brain stores, one job per dataset (an M/EEG dataset is one subject).

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


def fmri_inputs(w):
    ds = config["datasets"][w.dataset]
    if ds["source"] == "simulation":
        runs = range(1, N_RUNS + 1)
        return {
            "bold": [f"{SIM}/fmri/run-{r}_bold.nii.gz" for r in runs],
            "events": [f"{SIM}/fmri/run-{r}_events.tsv" for r in runs],
            "atlas": f"{SIM}/fmri/atlas.nii.gz",
            "atlas_labels": f"{SIM}/fmri/atlas.tsv",
        }
    if ds["source"] == "raw":  # BOLD runs (files) + one events TSV each (+ an optional atlas)
        inputs = {"bold": [path(f) for f in ds["files"]], "events": [path(f) for f in ds.get("event_files", [])]}
        inputs.update({k: path(ds[k]) for k in ("atlas", "atlas_labels") if k in ds})
        return inputs
    raise ValueError(f"dataset {w.dataset}: unsupported source {ds['source']!r}")


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
        ENV + RUN + " ingest-eeg -i raw={input.raw} -i events={input.events}"
        " -o store={output.store} -p {params.cfg} 2> {log}"


rule ingest_fmri:
    input:
        unpack(fmri_inputs),
    output:
        store=directory(f"{OUT}/brain/{{dataset}}.zarr"),
    wildcard_constraints:
        dataset="|".join(d for d in DATASETS if config["datasets"][d]["modality"] == "fmri") or "^$",
    params:
        cfg=dataset_params,
        inputs=lambda w, input: input_args(
            bold=list(input.bold),
            events=list(input.events),
            **{k: input.get(k) for k in ("atlas", "atlas_labels") if input.get(k)},
        ),
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        f"{OUT}/logs/ingest/{{dataset}}.log",
    shell:
        ENV + RUN + " ingest-fmri {params.inputs} -o store={output.store} -p {params.cfg} 2> {log}"


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
        ENV + RUN + " ingest-meeg {params.inputs} -o store={output.store} -o qc={output.qc}"
        " -p {params.cfg} 2> {log}"


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
        ENV + RUN + " qc-report {params.inputs} -o html={output.html} -p {params.cfg} 2> {log}"
