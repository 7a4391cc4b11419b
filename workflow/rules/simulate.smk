# The embedded default: stimuli, a small trained CNN, and EEG/fMRI with planted layers.


rule simulate_stimuli:
    output:
        manifest=f"{SIM}/stimuli/manifest.tsv",
    params:
        cfg=as_json({"stimuli": SIMULATION.get("stimuli", {}), "seed": config["seed"]}),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    log:
        f"{OUT}/logs/simulate_stimuli.log",
    shell:
        ENV + RUN + " simulate-stimuli -o manifest={output.manifest:q} -p {params.cfg} 2> {log:q}"


rule train_network:
    input:
        manifest=f"{SIM}/stimuli/manifest.tsv",
    output:
        weights=f"{SIM}/network.pt",
    params:
        cfg=as_json(
            {
                "network": SIMULATION.get("network", {}),
                "image": next(iter(config["models"].values()), {}).get("image", {}),
                "seed": config["seed"],
            }
        ),
    threads: 2
    resources:
        mem_mb=2000,
        runtime=20,
    log:
        f"{OUT}/logs/train_network.log",
    shell:
        ENV + RUN + " train-network -i manifest={input.manifest:q}"
        " -o weights={output.weights:q} -p {params.cfg} -t {threads} 2> {log:q}"


rule simulate_recordings:
    input:
        activations=f"{OUT}/activations/{next(iter(config['models']), 'none')}.zarr",
        manifest=f"{SIM}/stimuli/manifest.tsv",
    output:
        eeg_raw=f"{SIM}/eeg/sim_raw.fif",
        eeg_events=f"{SIM}/eeg/sim_events.tsv",
        bold=expand(f"{SIM}/fmri/run-{{run}}_bold.nii.gz", run=range(1, N_RUNS + 1)),
        bold_events=expand(f"{SIM}/fmri/run-{{run}}_events.tsv", run=range(1, N_RUNS + 1)),
        atlas=f"{SIM}/fmri/atlas.nii.gz",
        atlas_labels=f"{SIM}/fmri/atlas.tsv",
        truth=f"{SIM}/truth.json",
    params:
        cfg=as_json({**SIMULATION, "seed": config["seed"]}),
        outputs=lambda w, output: " ".join(
            [f"-o {k}={shlex.quote(output[k])}" for k in ("eeg_raw", "eeg_events", "atlas", "atlas_labels", "truth")]
            + [f"-o bold+={shlex.quote(p)}" for p in output.bold]
            + [f"-o bold_events+={shlex.quote(p)}" for p in output.bold_events]
        ),
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    log:
        f"{OUT}/logs/simulate_recordings.log",
    shell:
        ENV + RUN + " simulate-recordings -i activations={input.activations:q}"
        " -i manifest={input.manifest:q} {params.outputs} -p {params.cfg} 2> {log:q}"
