"""Start-up cost of a workflow job: ``brainbridge --help`` and each step's import.

A Snakemake job is one ``python -m brainbridge run STEP ...`` process; before the step does any
work it pays the interpreter start and the imports of the modules the step needs. This measures,
in fresh interpreters (best of ``--repeat``):

- ``python -c pass`` (the floor: the interpreter alone),
- ``python -m brainbridge --help``,
- ``python -m brainbridge run STEP --help`` for every registered step (the command line parsed,
  the step's module imported and its contract printed; the step itself does not run),
- every module the step imports (:func:`brainbridge.code_version.step_dependencies`, which
  includes the imports inside the step's function), imported in one fresh interpreter: the
  step's whole start-up before it reads its first input, on the costliest path of its options
  (e.g. ``decode-identity`` with the torch contrastive decoder; with ridge alone it needs no
  torch).

Run it with ``PYTHONPATH`` at an older checkout's ``src`` to compare (the last column is then
skipped when that checkout has no ``code_version``).

Run: ``python benchmarks/bench_startup.py`` (about a minute). Threads are limited to one.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from brainbridge.steps import STEPS


def timed(args: list[str], repeat: int) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, env=env)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--steps", nargs="*", default=sorted(STEPS))
    args = parser.parse_args()
    py = [sys.executable]
    floor = timed([*py, "-c", "pass"], args.repeat)
    print(f"{'python -c pass':<40} {floor:6.2f} s")
    help_time = timed([*py, "-m", "brainbridge", "--help"], args.repeat)
    print(f"{'brainbridge --help':<40} {help_time:6.2f} s")
    try:
        import brainbridge.code_version  # noqa: F401
    except ImportError:
        has_deps = False
    else:
        has_deps = True
    print(f"{'step':<20} {'run STEP --help':>16} {'all its imports':>16}")
    for step in args.steps:
        seconds = timed([*py, "-m", "brainbridge", "run", step, "--help"], args.repeat)
        deps = "n/a"
        if has_deps:  # the list is found here, so the child only imports (no source parsing)
            from brainbridge.code_version import step_dependencies

            modules = sorted(step_dependencies(step))
            code = f"import importlib; [importlib.import_module(m) for m in {modules!r}]"
            deps = f"{timed([*py, '-c', code], args.repeat):6.2f} s"
        print(f"{step:<20} {seconds:14.2f} s {deps:>16}")


if __name__ == "__main__":
    main()
