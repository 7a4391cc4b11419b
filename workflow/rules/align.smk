# Representational alignment with permutation tests, bootstrap CIs and noise ceilings.


# alignment.groups: NAME -> datasets of one design (one subject each) -> group-level result
GROUPS = config.get("alignment", {}).get("groups") or {}
for _group, _members in GROUPS.items():
    _unknown = [d for d in _members if d not in DATASETS]
    if _unknown:
        raise ValueError(
            f"alignment.groups.{_group}: unknown dataset(s) {_unknown}; list names of `datasets`."
        )
GROUP_PAIRS = expand("group__{group}__{model}", group=list(GROUPS), model=MODELS)


rule align:
    wildcard_constraints:
        dataset=one_of(DATASETS + TOKEN_BRAINS),  # TOKEN_BRAINS: tokenize.smk
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
        code=code_version("align"),
    group:
        "pairs"
    threads: 1
    resources:
        mem_mb=6000,
        runtime=60,
    log:
        f"{OUT}/logs/align/{{dataset}}__{{model}}.log",
    shell:
        ENV + RUN + " align -i brain={input.brain:q} -i activations={input.activations:q}"
        " -o store={output.store:q} -o table={output.table:q} -p {params.cfg} -t {threads} 2> {log:q}"


rule align_group:
    input:
        alignment=lambda w: expand(f"{OUT}/alignment/{{dataset}}__{w.model}.zarr", dataset=GROUPS[w.group]),
    output:
        store=directory(f"{OUT}/alignment/group__{{group}}__{{model}}.zarr"),
        table=f"{OUT}/alignment/group__{{group}}__{{model}}.tsv",
    wildcard_constraints:
        group=one_of(list(GROUPS)),
    params:
        cfg=lambda w: as_json(
            {
                "group": w.group,
                "datasets": GROUPS[w.group],
                "model": w.model,
                "alignment": config["alignment"],
                "seed": config["seed"],
            }
        ),
        inputs=lambda w, input: input_args(alignment=list(input.alignment)),
        code=code_version("align-group"),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        f"{OUT}/logs/align/group__{{group}}__{{model}}.log",
    shell:
        ENV + RUN + " align-group {params.inputs} -o store={output.store:q} -o table={output.table:q}"
        " -p {params.cfg} 2> {log:q}"


# Searchlight maps (alignment.searchlight.enabled): voxel spheres (fMRI), sensor
# neighbourhoods x time windows (M/EEG); recordings only (not brain RDM datasets).
SEARCHLIGHT = config.get("alignment", {}).get("searchlight", {}).get("enabled", False)
SL_DATASETS = (
    [d for d in DATASETS if config["datasets"][d]["source"] != "rdm" and d not in CONTINUOUS] if SEARCHLIGHT else []
)
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
        code=code_version("searchlight"),
    threads: 1
    resources:
        mem_mb=6000,
        runtime=60,
    log:
        f"{OUT}/logs/searchlight/{{dataset}}__{{model}}.log",
    shell:
        ENV + RUN + " searchlight -i brain={input.brain:q} -i activations={input.activations:q}"
        " -o store={output.store:q} -o maps={output.maps:q} -p {params.cfg} -t {threads} 2> {log:q}"
