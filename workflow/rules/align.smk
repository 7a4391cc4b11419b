# Representational alignment with permutation tests, bootstrap CIs and noise ceilings.


rule align:
    input:
        brain=lambda w: brain_store(w.dataset),
        activations=f"{OUT}/activations/{{model}}.zarr",
    output:
        store=directory(f"{OUT}/alignment/{{dataset}}__{{model}}.zarr"),
        table=f"{OUT}/alignment/{{dataset}}__{{model}}.tsv",
    params:
        cfg=lambda w: as_json(
            {
                "dataset": w.dataset,
                "model": w.model,
                "layers": config["models"][w.model].get("layers"),
                "alignment": config["alignment"],
                "seed": config["seed"],
            }
        ),
    threads: 1
    resources:
        mem_mb=6000,
        runtime=60,
    log:
        f"{OUT}/logs/align/{{dataset}}__{{model}}.log",
    shell:
        ENV + RUN + " align -i brain={input.brain:q} -i activations={input.activations:q}"
        " -o store={output.store:q} -o table={output.table:q} -p {params.cfg} -t {threads} 2> {log:q}"


# Searchlight maps (alignment.searchlight.enabled): voxel spheres (fMRI), sensor
# neighbourhoods x time windows (M/EEG); recordings only (not brain RDM datasets).
SEARCHLIGHT = config.get("alignment", {}).get("searchlight", {}).get("enabled", False)
SL_DATASETS = [d for d in DATASETS if config["datasets"][d]["source"] != "rdm"] if SEARCHLIGHT else []
SL_PAIRS = expand("{dataset}__{model}", dataset=SL_DATASETS, model=MODELS)


rule searchlight:
    input:
        brain=lambda w: brain_store(w.dataset),
        activations=f"{OUT}/activations/{{model}}.zarr",
    output:
        store=directory(f"{OUT}/searchlight/{{dataset}}__{{model}}.zarr"),
        maps=directory(f"{OUT}/searchlight/{{dataset}}__{{model}}.maps"),
    params:
        cfg=lambda w: as_json(
            {
                "dataset": w.dataset,
                "model": w.model,
                "layers": config["models"][w.model].get("layers"),
                "searchlight": config["alignment"]["searchlight"],
                "seed": config["seed"],
            }
        ),
    threads: 1
    resources:
        mem_mb=6000,
        runtime=60,
    log:
        f"{OUT}/logs/searchlight/{{dataset}}__{{model}}.log",
    shell:
        ENV + RUN + " searchlight -i brain={input.brain:q} -i activations={input.activations:q}"
        " -o store={output.store:q} -o maps={output.maps:q} -p {params.cfg} -t {threads} 2> {log:q}"
