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
                "layers": config["models"][w.model]["layers"],
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
