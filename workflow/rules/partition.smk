# Variance partitioning of layers (banded ridge), one job per dataset x model x set of layers;
# the tidy table of all of them. Included after decode_models.smk (layer_slug).
import fnmatch

PARTITION = config.get("partition", {})


def partition_sets(model):
    """{slug: layers} of the configured sets whose layers the model extracts."""
    if not PARTITION.get("enabled", False) or model not in EXTRACTED:
        return {}
    patterns = config["models"][model]["layers"]
    return {
        "+".join(layer_slug(layer) for layer in layers): list(layers)
        for layers in PARTITION.get("spaces", [])
        if all(any(fnmatch.fnmatchcase(layer, p) for p in patterns) for layer in layers)
    }


PARTITION_SLUGS = sorted({slug for m in EXTRACTED for slug in partition_sets(m)})


def partition_units():
    """dataset__model__spaces stems of the partition jobs (none when partitioning is off)."""
    return [
        f"{d}__{m}__{slug}" for d in ENCODED for m in EXTRACTED for slug in partition_sets(m)
    ]


def partition_stores():
    return [f"{OUT}/partition/{u}.zarr" for u in partition_units()]


def partition_targets():
    return [f"{OUT}/tables/partition.tsv"] if partition_units() else []


rule partition:
    input:
        brain=lambda w: brain_store(w.dataset),
        activations=f"{OUT}/activations/{{model}}.zarr",
    output:
        store=directory(f"{OUT}/partition/{{dataset}}__{{model}}__{{spaces}}.zarr"),
        table=f"{OUT}/partition/{{dataset}}__{{model}}__{{spaces}}.tsv",
    wildcard_constraints:
        dataset=one_of(ENCODED),
        model=one_of(EXTRACTED),
        spaces=one_of(PARTITION_SLUGS),
    params:
        cfg=lambda w: as_json(
            {
                "dataset": w.dataset,
                "model": w.model,
                "spaces": partition_sets(w.model)[w.spaces],
                "partition": {k: v for k, v in PARTITION.items() if k not in ("enabled", "spaces")},
                "seed": config["seed"],
            }
        ),
        code=code_version("partition"),
    group:
        "pairs"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    log:
        f"{OUT}/logs/partition/{{dataset}}__{{model}}__{{spaces}}.log",
    shell:
        ENV + RUN + " partition -i brain={input.brain:q} -i activations={input.activations:q}"
        " -o store={output.store:q} -o table={output.table:q} -p {params.cfg} -t {threads} 2> {log:q}"


rule partition_table:
    input:
        tables=[f"{OUT}/partition/{u}.tsv" for u in partition_units()],
    output:
        table=f"{OUT}/tables/partition.tsv",
    params:
        inputs=lambda w, input: input_args(tables=list(input.tables)),
        code=code_version("concat-tables"),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    log:
        f"{OUT}/logs/partition_table.log",
    shell:
        ENV + RUN + " concat-tables {params.inputs} -o table={output.table:q} 2> {log:q}"
