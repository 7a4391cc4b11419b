# Layer activations of each model for its stimulus set; precomputed model RDMs (source: rdm).
import re


def model_pattern(names):
    """A wildcard constraint matching exactly these model names (none: matches nothing)."""
    return "|".join(re.escape(m) for m in names) or "^$"


def model_rdm_config(model):
    """A source-rdm model's settings with its path settings expanded."""
    return ws.expand_paths(config["models"][model], config, ("rdms.*.file", "stimuli"))


rule extract:
    input:
        manifest=lambda w: manifest_of(w.model),
        weights=lambda w: checkpoint_of(w.model),
    output:
        store=directory(f"{OUT}/activations/{{model}}.zarr"),
    wildcard_constraints:
        model=model_pattern(EXTRACTED),
    params:
        cfg=lambda w: as_json({"name": w.model, "model": model_config(w.model), "seed": config["seed"]}),
        weights=lambda w, input: f"-i weights={shlex.quote(input.weights)}" if input.weights else "",
        code=code_version("extract"),
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        f"{OUT}/logs/extract/{{model}}.log",
    shell:
        ENV + RUN + " extract -i manifest={input.manifest:q} {params.weights}"
        " -o store={output.store:q} -p {params.cfg} -t {threads} 2> {log:q}"


rule model_rdms:
    input:
        rdms=lambda w: [e["file"] for e in model_rdm_config(w.model)["rdms"]],
        manifest=lambda w: manifest_of(w.model),
    output:
        store=directory(f"{OUT}/activations/{{model}}.zarr"),
    wildcard_constraints:
        model=model_pattern(RDM_MODELS),
    params:
        cfg=lambda w: as_json({"name": w.model, "model": model_rdm_config(w.model)}),
        inputs=lambda w, input: input_args(rdms=list(input.rdms), manifest=input.manifest),
        code=code_version("model-rdms"),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        f"{OUT}/logs/extract/{{model}}.log",
    shell:
        ENV + RUN + " model-rdms {params.inputs} -o store={output.store:q} -p {params.cfg} 2> {log:q}"
