"""Byte-for-byte reproducibility, and resumption after kills, in one interrupted run.

The quick config runs once uninterrupted (the session's ``quick_run``) and once more in another
folder, killed (SIGKILL to Snakemake's whole process group) during extraction, ingestion and
alignment and rerun each time with the README's command. The resumed run must finish with files
identical, byte for byte, to the uninterrupted run's (all but the HTML reports and the logs),
with no temporary sibling and no lock left behind.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from brainbridge.lock import acquire
from conftest import quick_workdir, snakemake_command

pytestmark = pytest.mark.workflow

# (stage, the step command its jobs run, the folder of output_dir they write to)
STEP = r" -m brainbridge run (?:--\S+ \S+ )*"  # `brainbridge run [--option value ...] STEP`
STAGES = [
    ("extraction", re.compile(STEP + r"extract\b"), "activations"),
    ("ingestion", re.compile(STEP + r"ingest-"), "brain"),
    ("alignment", re.compile(STEP + r"align\b"), "alignment"),
]
FALLBACK_S = 30.0  # kill this long after a job of the stage started if it has written nothing
EXCLUDED = re.compile(r"^(logs/|report\.html$|qc_report\.html$)")


def digests(output_dir: Path) -> dict[str, str]:
    """SHA-256 of every file under ``output_dir`` but the HTML reports and the logs."""
    out = {}
    for path in sorted(output_dir.rglob("*")):
        rel = path.relative_to(output_dir).as_posix()
        if path.is_file() and not EXCLUDED.match(rel):
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _stage_running(pgid: int, pattern: re.Pattern) -> bool:
    """Whether a process of group ``pgid`` runs a step matching ``pattern``."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.getpgid(int(proc.name)) != pgid:
                continue
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ProcessLookupError):
            continue
        if pattern.search(cmdline):
            return True
    return False


def _temporaries(output_dir: Path) -> set[Path]:
    return set(output_dir.rglob(".tmp-*")) if output_dir.exists() else set()


def kill_during(
    root: Path, workdir: Path, stages: dict[str, tuple[re.Pattern, str]], log: Path
) -> tuple[str, str] | None:
    """Run the workflow until a job of one of ``stages`` (name -> pattern, folder) writes into
    its folder (or has run FALLBACK_S), then SIGKILL Snakemake's process group; return the
    stage and when the kill happened, or None when the workflow ended first (jobs of different
    stages run in parallel, so a stage may finish while another one is being killed)."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            snakemake_command(root, workdir),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal would give it
        )
    running: tuple[str, float, set[Path], Path] | None = None
    try:
        while proc.poll() is None:
            if running is None:
                for stage, (pattern, folder) in stages.items():
                    if _stage_running(proc.pid, pattern):
                        written = workdir / "results-quick" / folder
                        running = (stage, time.monotonic(), _temporaries(written), written)
                        break
            if running is not None:
                stage, started, before, written = running
                writing = _temporaries(written) - before
                if writing or time.monotonic() - started > FALLBACK_S:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    return stage, "while writing" if writing else "while running"
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, log.read_text()[-3000:]
    return None


def test_killed_three_times_and_resumed_gives_the_uninterrupted_files(root, tmp_path, quick_run):
    workdir = quick_workdir(root, tmp_path / "resumed")
    log = tmp_path / "snakemake.log"
    remaining = {stage: (pattern, folder) for stage, pattern, folder in STAGES}
    when = {}
    while remaining:
        killed = kill_during(root, workdir, remaining, log)
        if killed is None:  # the rest finished while an earlier stage was being killed
            break
        when[killed[0]] = killed[1]
        del remaining[killed[0]]
    print("killed:", when, "finished without a kill:", sorted(remaining))
    assert len(when) >= 2, f"killed only during {when}: {log.read_text()[-3000:]}"
    output_dir = workdir / "results-quick"
    result = subprocess.run(
        snakemake_command(root, workdir), capture_output=True, text=True, timeout=1800
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]

    left = [p for p in output_dir.rglob("*") if p.name.startswith(".tmp-") or ".tmp-" in p.name]
    assert left == [], f"temporary siblings left behind: {left}"
    assert not (output_dir / ".brainbridge.lock").exists()

    expected, found = digests(quick_run), digests(output_dir)
    assert sorted(found) == sorted(expected)
    differ = sorted(k for k in expected if expected[k] != found[k])
    assert differ == [], f"files that differ between two runs of one config: {differ}"


def test_a_second_workflow_on_one_output_dir_is_refused(root, tmp_path):
    workdir = quick_workdir(root, tmp_path)
    sleeper = subprocess.Popen(["sleep", "600"])  # stands for a workflow that runs
    try:
        acquire(workdir / "results-quick", pid=sleeper.pid)
        result = subprocess.run(
            snakemake_command(root, workdir), capture_output=True, text=True, timeout=600
        )
    finally:
        sleeper.kill()
        sleeper.wait()
    assert result.returncode != 0
    assert f"is in use by another workflow (pid {sleeper.pid}" in result.stderr + result.stdout
    assert sorted(p.name for p in (workdir / "results-quick").iterdir()) == [".brainbridge.lock"]


def peak_threads(log: str) -> tuple[int, list[str]]:
    """The most threads that jobs running at once held, from Snakemake's job log: each job
    starts with a ``rule NAME:`` block (``jobid``, ``threads`` when above 1) and ends with
    ``Finished jobid: N``."""
    running: dict[int, tuple[str, int]] = {}
    peak: tuple[int, list[str]] = (0, [])
    job: dict | None = None
    for line in [*log.splitlines(), ""]:
        if match := re.match(r"^(?:local)?rule (\S+):$", line):
            job = {"rule": match.group(1), "threads": 1}
        elif job is not None and (match := re.match(r"^\s+(jobid|threads): (\d+)$", line)):
            job[match.group(1)] = int(match.group(2))
        elif job is not None and not line.startswith(" "):  # end of the block: it started
            running[job["jobid"]] = (job["rule"], job["threads"])
            job = None
            held = sum(threads for _, threads in running.values())
            if held > peak[0]:
                peak = (held, [f"{rule} ({threads})" for rule, threads in running.values()])
        if match := re.match(r"^Finished jobid: (\d+)", line):
            running.pop(int(match.group(1)), None)
    return peak


def test_jobs_never_hold_more_threads_than_cores(quick_run):
    """Snakemake 9.15 let single ready jobs inflate its pool of cores (brainbridge.scheduling)."""
    log = (quick_run.parent / "snakemake.log").read_text()
    assert "Provided cores: 2" in log and "threads: 2" in log
    held, jobs = peak_threads(log)
    assert held == 2, f"{held} threads at once on 2 cores: {jobs}"
