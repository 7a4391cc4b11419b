"""The ``brainbridge`` command: config validation, store inspection and the workflow steps."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

log = logging.getLogger("brainbridge")


def _pairs(items: list[str], flag: str) -> dict:
    """``key=value`` pairs; a key given twice (or with ``key+=``) collects a list."""
    out: dict = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"{flag} {item!r}: expected KEY=PATH.")
        listed = key.endswith("+")
        key = key.rstrip("+")
        if key in out:
            out[key] = (out[key] if isinstance(out[key], list) else [out[key]]) + [value]
        else:
            out[key] = [value] if listed else value
    return out


def cmd_validate_config(args: argparse.Namespace) -> int:
    from brainbridge.config import ConfigError, load_config

    try:
        config = load_config(args.config)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 1
    print(
        f"{args.config}: valid ({len(config['datasets'])} dataset(s), "
        f"{len(config['models'])} model(s))"
    )
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from brainbridge.store import StoreError, open_store

    try:
        ds = open_store(args.store)
    except StoreError as err:
        print(err, file=sys.stderr)
        return 1
    attrs = {k: v for k, v in ds.attrs.items() if k not in ("provenance", "checksum")}
    print(f"store: {args.store}\nkind: {ds.attrs.get('kind')}")
    print("dims: " + ", ".join(f"{d}={s}" for d, s in ds.sizes.items()))
    print("variables:")
    for name, var in ds.data_vars.items():
        print(f"  {name}: {var.dims} {var.dtype}")
    print("coords:")
    for name, coord in ds.coords.items():
        values = coord.values.ravel()
        preview = ", ".join(map(str, values[:4])) + (" ..." if values.size > 4 else "")
        print(f"  {name}: {coord.dims} [{preview}]")
    print("attrs: " + json.dumps(attrs, default=str))
    print(f"checksum: verified ({len(ds.attrs['checksum']['arrays'])} arrays and the metadata)")
    if ds.attrs.get("kind") == "tokens":
        _token_summary(ds)
    if "provenance" in ds.attrs:
        print("provenance: " + json.dumps(ds.attrs["provenance"], indent=2, default=str))
    return 0


def cmd_provenance(args: argparse.Namespace) -> int:
    """The chain of inputs of a store back to the raw files, each checked against its checksum."""
    from brainbridge.store import StoreError
    from brainbridge.store.lineage import format_lineage, lineage

    try:
        node = lineage(args.store)
    except StoreError as err:
        print(err, file=sys.stderr)
        return 1
    print("\n".join(format_lineage(node)))
    return 0


def _token_summary(ds) -> None:
    """Codebook use of a tokens store, level by level."""
    import numpy as np

    codes = np.asarray(ds["codes"].values)
    size = int(ds.sizes["code"])
    sha = ds.attrs.get("checkpoint_sha256")
    print(f"tokenizer: {ds.attrs.get('tokenizer')} (checkpoint sha256 {sha})")
    for level in range(codes.shape[-1]):
        counts = np.bincount(codes[..., level].ravel().astype(np.int64), minlength=size)
        p = counts[counts > 0] / counts.sum()
        print(
            f"  level {level}: {int((counts > 0).sum())}/{size} codes used, "
            f"perplexity {float(np.exp(-(p * np.log(p)).sum())):.1f}"
        )


def cmd_run(args: argparse.Namespace) -> int:
    outputs = _pairs(args.output, "--output")
    if args.output_dir is not None:  # refuse before anything is written or replaced
        from brainbridge.safety import OutputEscapeError, inside_output

        try:
            for value in outputs.values():
                for path in value if isinstance(value, list) else [value]:
                    inside_output(path, args.output_dir)
        except OutputEscapeError as err:
            print(f"step {args.step}: {err}", file=sys.stderr)
            return 2
    from brainbridge.steps import get_step
    from brainbridge.steps.contract import contract_of

    step = get_step(args.step)  # imports the step's module only
    contract = contract_of(step)
    if args.help:
        args.run_parser.print_help()
        if contract is not None:
            print("\n" + contract.describe(args.step))
        return 0
    inputs = _pairs(args.input, "--input")
    params = json.loads(args.params) if args.params else {}
    params.setdefault("threads", args.threads)
    problems = contract.problems(inputs, outputs, params) if contract is not None else []
    if problems:
        print(
            f"brainbridge run {args.step}: "
            + "; ".join(problems)
            + ".\n\n"
            + contract.describe(args.step),
            file=sys.stderr,
        )
        return 2
    log.info("step %s: inputs %s", args.step, inputs)
    step(inputs, outputs, params)
    log.info("step %s: wrote %s", args.step, list(outputs.values()))
    return 0


def cmd_layers(args: argparse.Namespace) -> int:
    """Module names of a model, from a config's model or a ``source:checkpoint`` spec."""
    from brainbridge.extract.layers import list_layers
    from brainbridge.extract.models import MODEL_OPTIONS, load

    target = args.model
    if target.endswith((".yaml", ".yml")) and Path(target).exists():
        import yaml

        from brainbridge.workflow_support import model_config

        config = yaml.safe_load(Path(target).read_text(encoding="utf-8")) or {}
        models = config.get("models", {})
        name = args.name or next(iter(models), None)
        if name not in models:
            print(f"{target}: no model {name!r}; models: {sorted(models)}", file=sys.stderr)
            return 1
        if models[name].get("source") == "rdm":  # precomputed RDMs: the layers are the rdms
            print("\n".join(str(e.get("layer")) for e in models[name].get("rdms", [])))
            return 0
        cfg = model_config(config, name)  # paths relative to the working directory
        checkpoint = cfg["checkpoint"]
        source, options = cfg["source"], {k: v for k, v in cfg.items() if k in MODEL_OPTIONS}
    else:
        source, sep, checkpoint = target.partition(":")
        if not sep:
            print(
                "give a config YAML or SOURCE:CHECKPOINT (e.g. cifar-resnet:w.th)", file=sys.stderr
            )
            return 1
        options = {"arch": args.arch} if args.arch else {}
    try:
        model = load(source, checkpoint, **options).module
    except (FileNotFoundError, ValueError, ImportError) as err:
        print(err, file=sys.stderr)
        return 1
    for layer in list_layers(model):
        print(layer)
    return 0


def cmd_simulate_bids(args: argparse.Namespace) -> int:
    """Write the simulated BIDS fMRI dataset (raw + fMRIPrep-style derivatives + truth)."""
    from brainbridge.simulate.fmri_bids import simulate_bids_fmri

    sim = simulate_bids_fmri(args.root, seed=args.seed, runs=args.runs)
    print(
        f"{args.root}: {len(sim.bold)} run(s) of sub-01 task-sim; derivatives in "
        f"{sim.derivatives}, atlas {sim.atlas}, truth in {sim.truth[0].parent}"
    )
    return 0


def cmd_metrics(_args: argparse.Namespace) -> int:
    from brainbridge.align import get_metric, list_metrics

    for name in list_metrics():
        print(f"{name}\n    {get_metric(name).doc}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from brainbridge import __version__

    parser = argparse.ArgumentParser(prog="brainbridge", description=__doc__)
    parser.add_argument("--version", action="version", version=f"brainbridge {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate-config", help="check a YAML config against the schema")
    p.add_argument("config", type=Path)
    p.set_defaults(func=cmd_validate_config)

    p = sub.add_parser("info", help="dims, coords, attrs and provenance of a store")
    p.add_argument("store", type=Path)
    p.set_defaults(func=cmd_info)

    p = sub.add_parser(
        "provenance", help="the chain of inputs of a store back to the raw files, checked"
    )
    p.add_argument("store", type=Path)
    p.set_defaults(func=cmd_provenance)

    p = sub.add_parser("layers", help="list the module (layer) names of a model")
    p.add_argument("model", help="a config YAML, or SOURCE:CHECKPOINT (e.g. cifar-resnet:w.th)")
    p.add_argument("--name", help="which model of the config (default: the first)")
    p.add_argument("--arch", help="architecture, for SOURCE:CHECKPOINT (e.g. resnet20)")
    p.set_defaults(func=cmd_layers)

    p = sub.add_parser("metrics", help="list the alignment metrics and what they mean")
    p.set_defaults(func=cmd_metrics)

    p = sub.add_parser(
        "simulate-bids", help="write a simulated BIDS fMRI dataset with fMRIPrep derivatives"
    )
    p.add_argument("root", type=Path, help="the dataset folder to write")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runs", type=int, default=2)
    p.set_defaults(func=cmd_simulate_bids)

    from brainbridge.steps import STEPS

    p = sub.add_parser(
        "run", help="run one workflow step (what Snakemake rules call)", add_help=False
    )
    p.add_argument("step", choices=sorted(STEPS))
    p.add_argument("-h", "--help", action="store_true", help="the step's inputs, outputs, params")
    p.add_argument("-i", "--input", action="append", metavar="KEY=PATH")
    p.add_argument("-o", "--output", action="append", metavar="KEY=PATH")
    p.add_argument("-p", "--params", help="the step's config subset, as JSON")
    p.add_argument("-t", "--threads", type=int, default=1)
    p.add_argument(
        "--output-dir", type=Path, help="refuse any output that resolves outside this folder"
    )
    p.set_defaults(func=cmd_run, run_parser=p)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s: %(message)s",
    )
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
