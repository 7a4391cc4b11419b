# Raw recordings -> brain stores, one job per dataset (an M/EEG dataset is one subject).
MEEG_REAL = [
    d
    for d in DATASETS
    if config["datasets"][d]["modality"] in ("eeg", "meg") and config["datasets"][d]["source"] != "simulation"
]


rule ingest_eeg:
    input:
        unpack(lambda w: ws.eeg_inputs(config, w.dataset, SIM)),
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
        cfg=lambda w: as_json({"name": w.dataset, **config["datasets"][w.dataset]}),
        code=code_version("ingest-eeg"),
    group:
        "ingest"
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
        unpack(lambda w: ws.fmri_inputs(config, w.dataset, SIM)),
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
        cfg=lambda w: as_json(ws.fmri_params(config, w.dataset)),
        code=code_version("ingest-fmri"),
        inputs=lambda w, input: input_args(
            **{k: list(input.get(k)) for k in ("bold", "events", "confounds") if input.get(k)},
            **{k: input.get(k) for k in ("atlas", "atlas_labels") if input.get(k)},
        ),
    group:
        "ingest"
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
        files=lambda w: ws.meeg_files(config, w.dataset),
        extra=lambda w: ws.meeg_extra(config, w.dataset),
    output:
        store=directory(f"{OUT}/brain/{{dataset}}.zarr"),
        qc=f"{OUT}/brain/{{dataset}}.qc.json",
    wildcard_constraints:
        dataset="|".join(MEEG_REAL) or "^$",
    params:
        cfg=lambda w: as_json({"name": w.dataset, "seed": config["seed"], **ws.dataset_config(config, w.dataset)}),
        code=code_version("ingest-meeg"),
        inputs=lambda w, input: input_args(files=list(input.files)),
    group:
        "ingest"
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
        tokenizer_health=expand(f"{OUT}/tokenizers/{{t}}/health.tsv", t=TOKENIZERS),
        tokenizer_probes=lambda w: probe_tables(),  # tokenize.smk (included later)
        trf=lambda w: [f"{OUT}/trf/{d}__{m}.zarr" for d, m in TRF_PAIRS],  # trf.smk
    output:
        html=f"{OUT}/qc_report.html",
    params:
        cfg=as_json(config.get("report", {})),
        inputs=lambda w, input: input_args(
            qc=list(input.qc),
            tokenizer_health=list(input.tokenizer_health),
            tokenizer_probes=list(input.tokenizer_probes),
            trf=list(input.trf),
        ),
        code=code_version("qc-report"),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        f"{OUT}/logs/qc_report.log",
    shell:
        ENV + RUN + " qc-report {params.inputs} -o html={output.html:q} -p {params.cfg} 2> {log:q}"
