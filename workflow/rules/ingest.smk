# Raw recordings -> brain stores, one job per dataset.


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
    raise ValueError(f"dataset {w.dataset}: unsupported source {ds['source']!r}")


def dataset_params(w):
    return as_json({"name": w.dataset, **config["datasets"][w.dataset]})


rule ingest_eeg:
    input:
        unpack(eeg_inputs),
    output:
        store=directory(f"{OUT}/brain/{{dataset}}.zarr"),
    wildcard_constraints:
        dataset="|".join(d for d in DATASETS if config["datasets"][d]["modality"] in ("eeg", "meg")) or "^$",
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
            bold=list(input.bold), events=list(input.events), atlas=input.atlas, atlas_labels=input.atlas_labels
        ),
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        f"{OUT}/logs/ingest/{{dataset}}.log",
    shell:
        ENV + RUN + " ingest-fmri {params.inputs} -o store={output.store} -p {params.cfg} 2> {log}"
