"""The HTML report of a run, and the tidy tables of all its results."""

from __future__ import annotations

import pandas as pd

from brainbridge.atomic import write_table
from brainbridge.report.group import group_sections
from brainbridge.report.html import build_report
from brainbridge.report.qc import qc_section, read_qc_records
from brainbridge.report.tokenizers import tokenizer_section
from brainbridge.steps.contract import declare
from brainbridge.steps.units import as_list


def _concat(paths: list) -> pd.DataFrame:
    return pd.concat([pd.read_csv(p, sep="\t") for p in paths], ignore_index=True)


@declare(
    outputs={"html": "report HTML", "alignment_table": "all alignment rows (TSV)"},
    optional_inputs={
        "encoding": "encoding stores",
        "alignment": "alignment stores",
        "encoding_tables": "encoding TSVs",
        "alignment_tables": "alignment TSVs",
        "qc": "M/EEG QC records (JSON)",
        "truth": "planted truth JSON (simulated data)",
        "recovery": "planted-vs-recovered TSV",
        "searchlight": "searchlight stores (maps beside them)",
        "decoding": "decoding stores",
        "timegen": "temporal-generalization stores (datasets and groups)",
        "group_alignment": "group-level alignment stores (alignment.groups)",
        "tokenizer_health": "codebook health TSVs of the tokenizers",
        "partition": "variance partition stores",
        "tokenizer_probes": "linear-probe TSVs of the tokenizers",
        "trf": "temporal response function stores",
    },
    optional_outputs={"encoding_table": "all encoding rows (TSV)"},
    optional_params={"title": "report title"},
)
def report(inputs: dict, outputs: dict, params: dict) -> None:
    """Tidy tables of every (dataset, model) pair, then one self-contained HTML report."""
    for key in ("encoding", "alignment"):
        if f"{key}_table" in outputs:
            write_table(_concat(as_list(inputs.get(f"{key}_tables"))), outputs[f"{key}_table"])
    qc = as_list(inputs.get("qc"))
    extra = [qc_section(read_qc_records(qc))] if qc else []
    tokenizers = tokenizer_section(
        as_list(inputs.get("tokenizer_health")), as_list(inputs.get("tokenizer_probes"))
    )
    if tokenizers:
        extra.append(tokenizers)
    decoding, timegen = as_list(inputs.get("decoding")), as_list(inputs.get("timegen"))
    if decoding or timegen:
        from brainbridge.report.decoding import decoding_section

        extra.append(decoding_section(decoding, timegen))
    if as_list(inputs.get("partition")):
        from brainbridge.report.partition import partition_section

        extra.append(partition_section(as_list(inputs.get("partition"))))
    if as_list(inputs.get("trf")):
        from brainbridge.report.trf import trf_section

        extra.append(trf_section(as_list(inputs.get("trf"))))
    build_report(
        extra_sections=extra or None,
        group_sections=group_sections(
            as_list(inputs.get("alignment")), as_list(inputs.get("group_alignment"))
        ),
        encoding=as_list(inputs.get("encoding")),
        alignment=as_list(inputs.get("alignment")),
        out=outputs["html"],
        truth=inputs.get("truth"),
        recovery=inputs.get("recovery"),
        title=params.get("title", "brainbridge report"),
        searchlight=as_list(inputs.get("searchlight")),
    )
