# The embedded default: stimuli, a small trained CNN, and EEG/fMRI with planted layers.

localrules:
    simulation_truth,


SIM_MODEL = next(iter(config["models"]), None)  # its planted layers drive the simulation


rule simulate_stimuli:
    output:
        manifest=f"{SIM}/stimuli/manifest.tsv",
    params:
        cfg=as_json({"stimuli": SIMULATION.get("stimuli", {}), "seed": config["seed"]}),
        code=code_version("simulate-stimuli"),
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
        code=code_version("train-network"),
    threads: 2
    resources:
        mem_mb=2000,
        runtime=20,
        **TRAINING,
    log:
        f"{OUT}/logs/train_network.log",
    shell:
        ENV + RUN + " train-network -i manifest={input.manifest:q}"
        " -o weights={output.weights:q} -p {params.cfg} -t {threads} 2> {log:q}"


rule simulation_activations:
    # The planted layers only, one store per modality: adding a layer to the model re-simulates
    # nothing, and an EEG setting never touches the fMRI.
    input:
        manifest=f"{SIM}/stimuli/manifest.tsv",
        weights=lambda w: checkpoint_of(SIM_MODEL),
    output:
        store=directory(f"{SIM}/{{modality}}/activations.zarr"),
    wildcard_constraints:
        modality="eeg|fmri",
    params:
        cfg=lambda w: as_json(
            {
                "name": SIM_MODEL,
                "model": {**model_config(SIM_MODEL), "layers": ws.planted_layers(config, w.modality)},
                "seed": config["seed"],
            }
        ),
        weights=lambda w, input: f"-i weights={shlex.quote(input.weights)}" if input.weights else "",
        code=code_version("extract"),
    group:
        "simulate"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        f"{OUT}/logs/simulate/{{modality}}_activations.log",
    shell:
        ENV + RUN + " extract -i manifest={input.manifest:q} {params.weights}"
        " -o store={output.store:q} -p {params.cfg} -t {threads} 2> {log:q}"


rule simulate_eeg:
    input:
        activations=f"{SIM}/eeg/activations.zarr",
        manifest=f"{SIM}/stimuli/manifest.tsv",
    output:
        eeg_raw=f"{SIM}/eeg/sim_raw.fif",
        eeg_events=f"{SIM}/eeg/sim_events.tsv",
        truth=f"{SIM}/eeg/truth.json",
    params:
        cfg=as_json({"eeg": SIMULATION.get("eeg", {}), "seed": config["seed"]}),
        code=code_version("simulate-eeg"),
    group:
        "simulate"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    log:
        f"{OUT}/logs/simulate/eeg.log",
    shell:
        ENV + RUN + " simulate-eeg -i activations={input.activations:q} -i manifest={input.manifest:q}"
        " -o eeg_raw={output.eeg_raw:q} -o eeg_events={output.eeg_events:q} -o truth={output.truth:q}"
        " -p {params.cfg} 2> {log:q}"


rule simulate_fmri:
    input:
        activations=f"{SIM}/fmri/activations.zarr",
        manifest=f"{SIM}/stimuli/manifest.tsv",
    output:
        bold=expand(f"{SIM}/fmri/run-{{run}}_bold.nii.gz", run=range(1, N_RUNS + 1)),
        bold_events=expand(f"{SIM}/fmri/run-{{run}}_events.tsv", run=range(1, N_RUNS + 1)),
        atlas=f"{SIM}/fmri/atlas.nii.gz",
        atlas_labels=f"{SIM}/fmri/atlas.tsv",
        truth=f"{SIM}/fmri/truth.json",
    params:
        cfg=as_json({"fmri": SIMULATION.get("fmri", {}), "seed": config["seed"]}),
        outputs=lambda w, output: " ".join(
            [f"-o {k}={shlex.quote(output[k])}" for k in ("atlas", "atlas_labels", "truth")]
            + [f"-o bold+={shlex.quote(p)}" for p in output.bold]
            + [f"-o bold_events+={shlex.quote(p)}" for p in output.bold_events]
        ),
        code=code_version("simulate-fmri"),
    group:
        "simulate"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    log:
        f"{OUT}/logs/simulate/fmri.log",
    shell:
        ENV + RUN + " simulate-fmri -i activations={input.activations:q} -i manifest={input.manifest:q}"
        " {params.outputs} -p {params.cfg} 2> {log:q}"


rule simulation_truth:
    # What recovery and the report read: the per-modality truths in one file (no job start).
    input:
        parts=[f"{SIM}/eeg/truth.json", f"{SIM}/fmri/truth.json"],
    output:
        truth=f"{SIM}/truth.json",
    run:
        ws.merge_truth(input.parts, output.truth)
