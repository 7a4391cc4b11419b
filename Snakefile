# brainbridge: brain recordings <-> neural network activations, as one Snakemake DAG.
# Run: snakemake --profile workflow/profiles/default   (or `make demo`)

from snakemake.utils import min_version, validate

from brainbridge.config import check_config

min_version("9.0")


configfile: "config/config.yaml"


check_config(config, "config")  # every problem at once, naming the key and the fix
validate(config, "workflow/schemas/config.schema.yaml")  # and fill the schema's defaults


include: "workflow/rules/common.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/extract.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/encode.smk"
include: "workflow/rules/align.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        f"{OUT}/report.html",
        f"{OUT}/tables/encoding.tsv",
        f"{OUT}/tables/alignment.tsv",
        recovery_outputs(),
    default_target: True
