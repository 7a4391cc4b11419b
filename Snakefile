# brainbridge: brain recordings <-> neural network activations, as one Snakemake DAG.
# Run: snakemake --profile workflow/profiles/default   (or `make demo`)

from snakemake.utils import min_version, validate

from brainbridge.config import check_config
from brainbridge.scheduling import keep_cores_within_limit

min_version("9.0")
keep_cores_within_limit()  # never more threads at once than --cores (brainbridge.scheduling)


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
include: "workflow/rules/tokenize.smk"
include: "workflow/rules/encode.smk"
include: "workflow/rules/trf.smk"
include: "workflow/rules/decode_models.smk"
include: "workflow/rules/partition.smk"
include: "workflow/rules/align.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        final_targets(),
    default_target: True


# One workflow at a time per output_dir (a lock file with the PID and host; a lock left by a
# killed run is taken over). It also stands in for Snakemake's own lock, which the default
# profile turns off: that one survives a kill and would need `--unlock` by hand.
onstart:
    from brainbridge.lock import acquire

    acquire(OUT)


onsuccess:
    from brainbridge.lock import release

    release(OUT)


onerror:
    from brainbridge.lock import release

    release(OUT)
