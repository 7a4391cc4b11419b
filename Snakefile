# brainbridge: brain recordings <-> neural network activations, as one Snakemake DAG.
# Run: snakemake --profile workflow/profiles/default   (or `make demo`)

from snakemake.utils import min_version, validate

from brainbridge.config import check_config

min_version("9.0")


# The embedded default, unless a config file was given (`--configfile`): config files are
# never merged with the default, so an example config runs only what it declares.
# `--config key=value` still overrides single keys of whichever file is in use.
if not workflow.config_settings.configfiles:

    configfile: "config/config.yaml"



check_config(config, "config")  # every problem at once, naming the key and the fix
validate(config, "workflow/schemas/config.schema.yaml")  # and fill the schema's defaults


include: "workflow/rules/common.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/extract.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/rdms.smk"
include: "workflow/rules/encode.smk"
include: "workflow/rules/decode_models.smk"
include: "workflow/rules/align.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        final_targets(),
    default_target: True
