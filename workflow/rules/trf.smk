# Temporal response functions of continuous M/EEG recordings: one job per dataset x model (a
# layer's features at the stimulus onsets) and per feature file (trf.features.NAME).
TRF = config.get("trf") or {}
TRF_FILES = TRF.get("features") or {}  # name -> {dataset, file, sfreq, ...}
TRF_PAIRS = [(d, m) for d in TRF.get("datasets", []) for m in EXTRACTED] + [
    (spec["dataset"], name) for name, spec in TRF_FILES.items()
]


def trf_targets():
    return [f"{OUT}/trf/{d}__{m}.{ext}" for d, m in TRF_PAIRS for ext in ("zarr", "tsv", "png")]


def trf_inputs(dataset, model):
    """The brain store, and the model's activations or the feature file."""
    if model in TRF_FILES:
        return {"brain": brain_store(dataset), "features": ws.expand_path(TRF_FILES[model]["file"], config)}
    return {"brain": brain_store(dataset), "activations": f"{OUT}/activations/{model}.zarr"}


def trf_params(dataset, model):
    settings = {k: v for k, v in TRF.items() if k not in ("datasets", "features")}
    params = {"dataset": dataset, "model": model, "trf": settings, "seed": config["seed"]}
    if model in TRF_FILES:
        params["features"] = {k: v for k, v in TRF_FILES[model].items() if k not in ("dataset", "file")}
    else:
        params["layers"] = config["models"][model].get("layers")
    return params


rule trf:
    input:
        unpack(lambda w: trf_inputs(w.dataset, w.model)),
    output:
        store=directory(f"{OUT}/trf/{{dataset}}__{{model}}.zarr"),
        table=f"{OUT}/trf/{{dataset}}__{{model}}.tsv",
        figure=f"{OUT}/trf/{{dataset}}__{{model}}.png",
    wildcard_constraints:
        dataset=one_of(sorted({d for d, _ in TRF_PAIRS})),
        model=one_of(sorted({m for _, m in TRF_PAIRS})),
    params:
        cfg=lambda w: as_json(trf_params(w.dataset, w.model)),
        inputs=lambda w, input: input_args(**{k: input[k] for k in input.keys()}),
        code=code_version("trf"),
    group:
        "pairs"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        f"{OUT}/logs/trf/{{dataset}}__{{model}}.log",
    shell:
        ENV + RUN + " trf {params.inputs} -o store={output.store:q} -o table={output.table:q}"
        " -o figure={output.figure:q} -p {params.cfg} 2> {log:q}"
