# Cross-validated ridge encoding, one job per dataset x model.


rule encode:
    input:
        brain=lambda w: brain_store(w.dataset),
        activations=f"{OUT}/activations/{{model}}.zarr",
    output:
        store=directory(f"{OUT}/encoding/{{dataset}}__{{model}}.zarr"),
        table=f"{OUT}/encoding/{{dataset}}__{{model}}.tsv",
    wildcard_constraints:
        dataset=one_of(ENCODED),  # not brain RDM datasets: encoding needs responses
    params:
        cfg=lambda w: as_json(
            {
                "dataset": w.dataset,
                "model": w.model,
                "layers": config["models"][w.model]["layers"],
                "encoding": config["encoding"],
                "seed": config["seed"],
            }
        ),
        code=code_version("encode"),
    group:
        "pairs"
    threads: 2
    resources:
        mem_mb=6000,
        runtime=60,
    log:
        f"{OUT}/logs/encode/{{dataset}}__{{model}}.log",
    shell:
        ENV + RUN + " encode -i brain={input.brain:q} -i activations={input.activations:q}"
        " -o store={output.store:q} -o table={output.table:q} -p {params.cfg} -t {threads} 2> {log:q}"
