# Brain tokenizers: one training job per tokenizer (on one or more datasets' brain stores),
# one tokenizing job per tokenizer x dataset, and tokens as a brain store for alignment.
TOKEN_SEP = "@"  # brain/DATASET@TOKENIZER.zarr: code vectors of DATASET's trials


def tokenizer_inputs(tokenizer):
    return TOKENIZERS[tokenizer]["datasets"]


def tokenized(tokenizer):
    """The datasets a tokenizer codes (default: those it trains on)."""
    return TOKENIZERS[tokenizer].get("tokenize") or tokenizer_inputs(tokenizer)


def tokenizer_settings(tokenizer):
    """The model and training keys (no workflow keys)."""
    skip = ("datasets", "tokenize", "align", "resources", "probe")
    return {k: v for k, v in TOKENIZERS[tokenizer].items() if k not in skip}


def tokenizer_resources(tokenizer):
    return TOKENIZERS[tokenizer].get("resources", {})


# tokens as brain stores: aligned with (and encoded from) the networks like any dataset
TOKEN_BRAINS = [f"{d}{TOKEN_SEP}{t}" for t in TOKENIZERS if TOKENIZERS[t].get("align") for d in tokenized(t)]
TOKEN_PAIRS = [(t, d) for t in TOKENIZERS for d in tokenized(t)]
ENCODED += TOKEN_BRAINS  # (rdms.smk) the brain stores encoding runs on


# linear probes of trial labels (tokens vs band power vs the untrained tokenizer): one job per
# tokenizer with a `probe` block x each of its probed datasets (default: the epochs datasets it codes)
def probed(tokenizer):
    probe = TOKENIZERS[tokenizer].get("probe")
    if not probe:
        return []
    epochs = [d for d in tokenized(tokenizer) if config["datasets"][d].get("store") != "continuous"]
    return probe.get("datasets") or epochs


PROBE_PAIRS = [(t, d) for t in TOKENIZERS for d in probed(t)]


def probe_tables():
    return [f"{OUT}/tokenizers/{t}/probe-{d}.tsv" for t, d in PROBE_PAIRS]


def tokenizer_targets():
    return [f"{OUT}/tokenizers/{t}/health.tsv" for t in TOKENIZERS] + [
        f"{OUT}/tokens/{t}/{d}.zarr" for t, d in TOKEN_PAIRS
    ] + probe_tables()


rule train_tokenizer:
    input:
        stores=lambda w: [brain_store(d) for d in tokenizer_inputs(w.tokenizer)],
    output:
        weights=f"{OUT}/tokenizers/{{tokenizer}}/model.safetensors",
        config=f"{OUT}/tokenizers/{{tokenizer}}/config.json",
        health=f"{OUT}/tokenizers/{{tokenizer}}/health.tsv",
    wildcard_constraints:
        tokenizer=one_of(TOKENIZERS),
    params:
        cfg=lambda w: as_json(
            {
                "name": w.tokenizer,
                "tokenizer": tokenizer_settings(w.tokenizer),
                "datasets": tokenizer_inputs(w.tokenizer),
                "seed": config["seed"],
                "resume": f"{OUT}/tokenizers/.resume-{w.tokenizer}",
            }
        ),
        inputs=lambda w, input: input_args(stores=list(input.stores)),
        code=code_version("train-tokenizer"),
    threads: lambda w: int(tokenizer_resources(w.tokenizer).get("threads", 2))
    resources:
        mem_mb=lambda w: int(tokenizer_resources(w.tokenizer).get("mem_mb", 4000)),
        runtime=lambda w: int(tokenizer_resources(w.tokenizer).get("runtime", 60)),
        # a GPU only where a tokenizer asks for one (the SLURM plugin turns `gpu` into --gpus)
        **(
            {"gpu": lambda w: int(tokenizer_resources(w.tokenizer).get("gpu", 0))}
            if any(tokenizer_resources(t).get("gpu", 0) for t in TOKENIZERS)
            else {}
        ),
    log:
        f"{OUT}/logs/tokenize/train-{{tokenizer}}.log",
    shell:
        ENV + RUN + " train-tokenizer {params.inputs} -o weights={output.weights:q}"
        " -o config={output.config:q} -o health={output.health:q} -p {params.cfg} -t {threads}"
        " 2> {log:q}"


rule tokenize:
    input:
        weights=f"{OUT}/tokenizers/{{tokenizer}}/model.safetensors",
        config=f"{OUT}/tokenizers/{{tokenizer}}/config.json",
        brain=lambda w: brain_store(w.dataset),
    output:
        store=directory(f"{OUT}/tokens/{{tokenizer}}/{{dataset}}.zarr"),
    wildcard_constraints:
        tokenizer=one_of(TOKENIZERS),
        dataset=one_of(DATASETS),
    params:
        cfg=lambda w: as_json({"tokenizer": w.tokenizer, "dataset": w.dataset}),
        code=code_version("tokenize"),
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        f"{OUT}/logs/tokenize/{{tokenizer}}__{{dataset}}.log",
    shell:
        ENV + RUN + " tokenize -i weights={input.weights:q} -i config={input.config:q}"
        " -i brain={input.brain:q} -o store={output.store:q} -p {params.cfg} 2> {log:q}"


rule token_brain:
    input:
        tokens=lambda w: f"{OUT}/tokens/{w.tokenizer}/{w.dataset}.zarr",
    output:
        store=directory(f"{OUT}/brain/{{dataset}}{TOKEN_SEP}{{tokenizer}}.zarr"),
    wildcard_constraints:
        tokenizer=one_of(TOKENIZERS),
        dataset=one_of(DATASETS),
    params:
        cfg=lambda w: as_json({"name": f"{w.dataset}{TOKEN_SEP}{w.tokenizer}"}),
        code=code_version("token-brain"),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        f"{OUT}/logs/tokenize/brain-{{dataset}}{TOKEN_SEP}{{tokenizer}}.log",
    shell:
        ENV + RUN + " token-brain -i tokens={input.tokens:q} -o store={output.store:q} -p {params.cfg} 2> {log:q}"


rule probe_tokens:
    input:
        weights=f"{OUT}/tokenizers/{{tokenizer}}/model.safetensors",
        config=f"{OUT}/tokenizers/{{tokenizer}}/config.json",
        tokens=f"{OUT}/tokens/{{tokenizer}}/{{dataset}}.zarr",
        brain=lambda w: brain_store(w.dataset),
    output:
        table=f"{OUT}/tokenizers/{{tokenizer}}/probe-{{dataset}}.tsv",
    wildcard_constraints:
        tokenizer=one_of(TOKENIZERS),
        dataset=one_of(DATASETS),
    params:
        cfg=lambda w: as_json(
            {
                "tokenizer": w.tokenizer,
                "dataset": w.dataset,
                "probe": {k: v for k, v in TOKENIZERS[w.tokenizer]["probe"].items() if k != "datasets"},
                "seed": config["seed"],
            }
        ),
        code=code_version("probe-tokens"),
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        f"{OUT}/logs/tokenize/probe-{{tokenizer}}__{{dataset}}.log",
    shell:
        ENV + RUN + " probe-tokens -i weights={input.weights:q} -i config={input.config:q}"
        " -i tokens={input.tokens:q} -i brain={input.brain:q} -o table={output.table:q}"
        " -p {params.cfg} 2> {log:q}"
