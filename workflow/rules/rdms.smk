# Brain RDMs: precomputed RDM files -> rdms stores (aligned with layers like any brain store);
# category RDMs and leave-one-run-out decoding of fMRI responses.
import re

RDM_DATASETS = [d for d in DATASETS if config["datasets"][d]["source"] == "rdm"]  # no encoding
CATEGORY_RDMS = [d for d in DATASETS if "rdm" in config["datasets"][d]]
DECODED = [d for d in DATASETS if "decode" in config["datasets"][d]]
ENCODED = [d for d in DATASETS if d not in RDM_DATASETS and d not in CONTINUOUS]


def one_of(names):
    """A wildcard constraint matching exactly these names (none: matches nothing)."""
    return "|".join(re.escape(d) for d in names) or "^$"


def rdms_targets():
    """Category RDM stores and decoding tables of the datasets that ask for them."""
    return [f"{OUT}/brain/{d}.rdms.zarr" for d in CATEGORY_RDMS] + [
        f"{OUT}/tables/decoding/{d}.tsv" for d in DECODED
    ]


rule ingest_rdm:
    input:
        rdms=lambda w: [e["file"] for e in ws.dataset_config(config, w.dataset)["rdms"]],
        stimuli=lambda w: ws.dataset_config(config, w.dataset)["stimuli"],
    output:
        store=directory(f"{OUT}/brain/{{dataset}}.zarr"),
    wildcard_constraints:
        dataset=one_of(RDM_DATASETS),
    params:
        cfg=lambda w: as_json({"name": w.dataset, **ws.dataset_config(config, w.dataset)}),
        inputs=lambda w, input: input_args(rdms=list(input.rdms), stimuli=input.stimuli),
        code=code_version("ingest-rdm"),
    group:
        "ingest"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        f"{OUT}/logs/ingest/{{dataset}}.log",
    shell:
        ENV + RUN + " ingest-rdm {params.inputs} -o store={output.store:q} -p {params.cfg} 2> {log:q}"


rule brain_rdms:
    input:
        brain=lambda w: brain_store(w.dataset),
    output:
        store=directory(f"{OUT}/brain/{{dataset}}.rdms.zarr"),
    wildcard_constraints:
        dataset=one_of(CATEGORY_RDMS),
    params:
        cfg=lambda w: as_json({"name": w.dataset, "rdm": config["datasets"][w.dataset]["rdm"]}),
        code=code_version("brain-rdms"),
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    log:
        f"{OUT}/logs/brain_rdms/{{dataset}}.log",
    shell:
        ENV + RUN + " brain-rdms -i brain={input.brain:q} -o store={output.store:q} -p {params.cfg} 2> {log:q}"


rule decode:
    input:
        brain=lambda w: brain_store(w.dataset),
    output:
        table=f"{OUT}/tables/decoding/{{dataset}}.tsv",
    wildcard_constraints:
        dataset=one_of(DECODED),
    params:
        cfg=lambda w: as_json(
            {"name": w.dataset, "decode": config["datasets"][w.dataset]["decode"], "seed": config["seed"]}
        ),
        code=code_version("decode"),
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        f"{OUT}/logs/decode/{{dataset}}.log",
    shell:
        ENV + RUN + " decode -i brain={input.brain:q} -o table={output.table:q} -p {params.cfg} 2> {log:q}"
