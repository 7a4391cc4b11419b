"""Keep Snakemake's local scheduler within ``--cores``.

Snakemake 9.15 (the version the project pins; see the README's installation notes) starts the
only ready job without taking its threads and resources from the pool, yet gives them back when
the job ends (snakemake/snakemake#3913, fixed upstream in later releases). Each phase of the
DAG with a single ready job thus adds that job's threads to the pool: after the simulation's
single jobs, ``--cores 2`` behaved like ``--cores 7`` and jobs of 1 + 2 threads ran on 2 cores.
:func:`keep_cores_within_limit` wraps the job selector so that resources are always taken for
the jobs it starts (and only once: a Snakemake that already took them is left as it is).
"""

from __future__ import annotations

MARK = "_brainbridge_keeps_cores"


def _pool(scheduler) -> dict:
    """The resource pool, without the job count (set anew before each selection)."""
    return {k: v for k, v in scheduler.resources.items() if k != "_job_count"}


def keep_cores_within_limit() -> bool:
    """Wrap ``JobScheduler.job_selector``; return False when it was wrapped already."""
    from snakemake.scheduling.job_scheduler import JobScheduler

    original = JobScheduler.job_selector
    if getattr(original, MARK, False):
        return False

    def job_selector(self, jobs):
        before = _pool(self)
        selected = original(self, jobs)
        # every job holds _nodes=1 at least: an unchanged pool means nothing was taken
        if selected and _pool(self) == before:
            with self._lock:
                self.update_available_resources(selected)
        return selected

    setattr(job_selector, MARK, True)
    job_selector.__doc__ = original.__doc__
    JobScheduler.job_selector = job_selector
    return True
