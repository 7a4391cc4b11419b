"""Start-up cost of a workflow job: ``brainbridge --help`` and each step's import.

A Snakemake job is one ``python -m brainbridge run STEP ...`` process; before the step does any
work it pays the interpreter start and the imports of the modules the step needs. This measures,
in fresh interpreters (best of ``--repeat``):

- ``python -c pass`` (the floor: the interpreter alone),
- ``python -m brainbridge --help``,
- ``python -m brainbridge run STEP --help`` for every registered step (the command line parsed,
  the step's module imported and its contract printed; the step itself does not run).

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
    for step in args.steps:
        seconds = timed([*py, "-m", "brainbridge", "run", step, "--help"], args.repeat)
        print(f"{'brainbridge run ' + step + ' --help':<40} {seconds:6.2f} s")


if __name__ == "__main__":
    main()
