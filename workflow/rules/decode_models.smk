# Identification decoding (brain -> layer features, ridge and contrastive) per dataset x model x
# layer; category identification of label designs; time-resolved label decoding with temporal
# generalization and cluster statistics (M/EEG); the tidy table of all of them.
import re

DECODING = config.get("decoding", {})
DECODERS = DECODING.get("decoders", ["ridge"])
IDENTIFIED = [d for d in DATASETS if "identify" in config["datasets"][d]]
GENERALIZED = [d for d in DATASETS if "generalize" in config["datasets"][d]]
GROUPS = sorted({config["datasets"][d]["generalize"].get("group") for d in GENERALIZED} - {None})


def layer_slug(pattern):
    """A file-name-safe name for a configured layer (or layer glob)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", pattern).strip("_") or "layer"


def layer_patterns(model):
    return {layer_slug(p): p for p in config["models"][model]["layers"]}


def decoding_units():
    """dataset__model__layer stems of the identification jobs (none when decoding is off)."""
    if not DECODING.get("enabled", False):
        return []
    return [
        f"{d}__{m}__{slug}" for d in ENCODED for m in MODELS for slug in layer_patterns(m)
    ]


def group_members(group):
    return [d for d in GENERALIZED if config["datasets"][d]["generalize"].get("group") == group]


def decoding_tables():
    return (
        [f"{OUT}/decoding/{u}.tsv" for u in decoding_units()]
        + [f"{OUT}/decoding/{d}__categories.tsv" for d in IDENTIFIED]
    )


def decoding_stores():
    return [f"{OUT}/decoding/{u}.zarr" for u in decoding_units()] + [
        f"{OUT}/decoding/{d}__categories.zarr" for d in IDENTIFIED
    ]


def timegen_stores():
    return [f"{OUT}/timegen/{d}.zarr" for d in GENERALIZED] + [
        f"{OUT}/timegen/group-{g}.zarr" for g in GROUPS if len(group_members(g)) > 1
    ]


def decoding_targets():
    """The tidy decoding tables, temporal-generalization stores and the decoding page."""
    out = [f"{OUT}/tables/decoding.tsv"] if decoding_tables() else []
    out += timegen_stores()
    return out + ([f"{OUT}/decoding_report.html"] if out else [])


rule decode_identity:
    input:
        brain=lambda w: brain_store(w.dataset),
        activations=f"{OUT}/activations/{{model}}.zarr",
    output:
        store=directory(f"{OUT}/decoding/{{dataset}}__{{model}}__{{layer}}.zarr"),
        table=f"{OUT}/decoding/{{dataset}}__{{model}}__{{layer}}.tsv",
        **(
            {"checkpoint": f"{OUT}/decoding/{{dataset}}__{{model}}__{{layer}}.safetensors"}
            if "contrastive" in DECODERS
            else {}
        ),
    wildcard_constraints:
        dataset=one_of(ENCODED),
        model=one_of(MODELS),
    params:
        cfg=lambda w: as_json(
            {
                "dataset": w.dataset,
                "model": w.model,
                "layers": [layer_patterns(w.model)[w.layer]],
                "decoding": DECODING,
                "seed": config["seed"],
            }
        ),
        checkpoint=lambda w, output: (
            f"-o checkpoint={shlex.quote(output.checkpoint)}" if "contrastive" in DECODERS else ""
        ),
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=1 if "contrastive" in DECODERS else 0,
    log:
        f"{OUT}/logs/decode_identity/{{dataset}}__{{model}}__{{layer}}.log",
    shell:
        ENV + RUN + " decode-identity -i brain={input.brain:q} -i activations={input.activations:q}"
        " -o store={output.store:q} -o table={output.table:q} {params.checkpoint}"
        " -p {params.cfg} -t {threads} 2> {log:q}"


rule identify_categories:
    input:
        brain=lambda w: brain_store(w.dataset),
    output:
        store=directory(f"{OUT}/decoding/{{dataset}}__categories.zarr"),
        table=f"{OUT}/decoding/{{dataset}}__categories.tsv",
    wildcard_constraints:
        dataset=one_of(IDENTIFIED),
    params:
        cfg=lambda w: as_json(
            {
                "dataset": w.dataset,
                "model": "categories",
                "decoding": {**DECODING, **config["datasets"][w.dataset]["identify"]},
                "seed": config["seed"],
            }
        ),
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=1 if "contrastive" in DECODERS else 0,
    log:
        f"{OUT}/logs/decode_identity/{{dataset}}__categories.log",
    shell:
        ENV + RUN + " decode-identity -i brain={input.brain:q}"
        " -o store={output.store:q} -o table={output.table:q} -p {params.cfg} -t {threads} 2> {log:q}"


rule decoding_table:
    input:
        tables=decoding_tables(),
    output:
        table=f"{OUT}/tables/decoding.tsv",
    params:
        inputs=lambda w, input: input_args(tables=list(input.tables)),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    log:
        f"{OUT}/logs/decoding_table.log",
    shell:
        ENV + RUN + " concat-tables {params.inputs} -o table={output.table:q} 2> {log:q}"


rule generalize:
    input:
        brain=lambda w: brain_store(w.dataset),
    output:
        store=directory(f"{OUT}/timegen/{{dataset}}.zarr"),
        table=f"{OUT}/timegen/{{dataset}}.tsv",
    wildcard_constraints:
        dataset=one_of(GENERALIZED),
    params:
        cfg=lambda w: as_json(
            {
                "name": w.dataset,
                "generalize": config["datasets"][w.dataset]["generalize"],
                "seed": config["seed"],
            }
        ),
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    log:
        f"{OUT}/logs/generalize/{{dataset}}.log",
    shell:
        ENV + RUN + " generalize -i brain={input.brain:q}"
        " -o store={output.store:q} -o table={output.table:q} -p {params.cfg} 2> {log:q}"


rule generalize_group:
    input:
        stores=lambda w: [f"{OUT}/timegen/{d}.zarr" for d in group_members(w.group)],
    output:
        store=directory(f"{OUT}/timegen/group-{{group}}.zarr"),
        table=f"{OUT}/timegen/group-{{group}}.tsv",
    wildcard_constraints:
        group=one_of(GROUPS),
    params:
        cfg=lambda w: as_json(
            {
                "name": f"group-{w.group}",
                "n_permutations": config["datasets"][group_members(w.group)[0]]["generalize"].get(
                    "n_permutations", 1000
                ),
                "seed": config["seed"],
            }
        ),
        inputs=lambda w, input: input_args(stores=list(input.stores)),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        f"{OUT}/logs/generalize/group-{{group}}.log",
    shell:
        ENV + RUN + " generalize-group {params.inputs}"
        " -o store={output.store:q} -o table={output.table:q} -p {params.cfg} 2> {log:q}"


rule decoding_report:
    input:
        decoding=decoding_stores(),
        timegen=timegen_stores(),
    output:
        html=f"{OUT}/decoding_report.html",
    params:
        inputs=lambda w, input: input_args(
            decoding=list(input.decoding), timegen=list(input.timegen)
        ),
        cfg=as_json({"title": config.get("report", {}).get("title", "brainbridge") + " — decoding"}),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        f"{OUT}/logs/decoding_report.log",
    shell:
        ENV + RUN + " decoding-report {params.inputs} -o html={output.html:q} -p {params.cfg} 2> {log:q}"
