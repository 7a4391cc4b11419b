# Layer activations of each model for its stimulus set.


rule extract:
    input:
        manifest=lambda w: manifest_of(w.model),
        weights=lambda w: checkpoint_of(w.model),
    output:
        store=directory(f"{OUT}/activations/{{model}}.zarr"),
    params:
        cfg=lambda w: as_json({"name": w.model, "model": model_config(w.model), "seed": config["seed"]}),
        weights=lambda w, input: f"-i weights={shlex.quote(input.weights)}" if input.weights else "",
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        f"{OUT}/logs/extract/{{model}}.log",
    shell:
        ENV + RUN + " extract -i manifest={input.manifest:q} {params.weights}"
        " -o store={output.store:q} -p {params.cfg} -t {threads} 2> {log:q}"
