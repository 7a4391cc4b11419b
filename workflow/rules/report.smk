# Planted-vs-recovered table (simulated data), tidy tables and the HTML report.

PAIRS = expand(
    "{dataset}__{model}", dataset=[d for d in DATASETS if d not in CONTINUOUS] + TOKEN_BRAINS, model=MODELS
)
ENC_PAIRS = expand("{dataset}__{model}", dataset=ENCODED, model=EXTRACTED)  # no RDM datasets / models


rule recover:
    input:
        truth=f"{SIM}/truth.json",
        encoding=expand(f"{OUT}/encoding/{{pair}}.zarr", pair=ENC_PAIRS),
        alignment=expand(f"{OUT}/alignment/{{pair}}.zarr", pair=PAIRS),
    output:
        table=f"{OUT}/tables/recovery.tsv",
    params:
        inputs=lambda w, input: input_args(
            truth=input.truth, encoding=list(input.encoding), alignment=list(input.alignment)
        ),
        code=code_version("recover"),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        f"{OUT}/logs/recover.log",
    shell:
        ENV + RUN + " recover {params.inputs} -o table={output.table:q} 2> {log:q}"


rule report:
    input:
        encoding=expand(f"{OUT}/encoding/{{pair}}.zarr", pair=ENC_PAIRS),
        alignment=expand(f"{OUT}/alignment/{{pair}}.zarr", pair=PAIRS),
        encoding_tables=expand(f"{OUT}/encoding/{{pair}}.tsv", pair=ENC_PAIRS),
        alignment_tables=expand(f"{OUT}/alignment/{{pair}}.tsv", pair=PAIRS + GROUP_PAIRS),
        extra=[f"{SIM}/truth.json", f"{OUT}/tables/recovery.tsv"] if SIMULATED else [],
        qc=expand(f"{OUT}/brain/{{dataset}}.qc.json", dataset=MEEG_REAL),
        searchlight=expand(f"{OUT}/searchlight/{{pair}}.{{ext}}", pair=SL_PAIRS, ext=["zarr", "maps"]),
        decoding=decoding_stores(),  # decode_models.smk
        partition=partition_stores(),  # partition.smk
        timegen=timegen_stores(),  # decode_models.smk
        group_alignment=expand(f"{OUT}/alignment/{{pair}}.zarr", pair=GROUP_PAIRS),
        tokenizer_health=expand(f"{OUT}/tokenizers/{{t}}/health.tsv", t=TOKENIZERS),
        tokenizer_probes=probe_tables(),  # tokenize.smk
        trf=[f"{OUT}/trf/{d}__{m}.zarr" for d, m in TRF_PAIRS],  # trf.smk
    output:
        html=f"{OUT}/report.html",
        alignment_table=f"{OUT}/tables/alignment.tsv",
        **({"encoding_table": f"{OUT}/tables/encoding.tsv"} if ENC_PAIRS else {}),
    params:
        cfg=as_json(config.get("report", {})),
        inputs=lambda w, input: input_args(
            encoding=list(input.encoding),
            alignment=list(input.alignment),
            encoding_tables=list(input.encoding_tables),
            alignment_tables=list(input.alignment_tables),
            qc=list(input.qc),
            searchlight=[p for p in input.searchlight if p.endswith(".zarr")],
            decoding=list(input.decoding),
            partition=list(input.partition),
            timegen=list(input.timegen),
            group_alignment=list(input.group_alignment),
            tokenizer_health=list(input.tokenizer_health),
            tokenizer_probes=list(input.tokenizer_probes),
            trf=list(input.trf),
            **({"truth": input.extra[0], "recovery": input.extra[1]} if SIMULATED else {}),
        ),
        encoding_table=lambda w, output: f"-o encoding_table={shlex.quote(output.encoding_table)}" if ENC_PAIRS else "",
        code=code_version("report"),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        f"{OUT}/logs/report.log",
    shell:
        ENV + RUN + " report {params.inputs} -o html={output.html:q}"
        " {params.encoding_table} -o alignment_table={output.alignment_table:q}"
        " -p {params.cfg} 2> {log:q}"
