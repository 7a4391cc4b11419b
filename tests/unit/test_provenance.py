"""Checked provenance: content checksums refuse edited stores; one atomic writer; lineage."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
import zarr
from test_store import activations, epochs

from brainbridge.atomic import atomic_path, stale_siblings, target_of, write_text
from brainbridge.cli import main as cli_main
from brainbridge.store import StoreError, StoreStream, open_store, provenance, write_store
from brainbridge.store.checksum import verify
from brainbridge.store.lineage import lineage


def _written(tmp_path: Path, name: str = "e.zarr") -> Path:
    raw = tmp_path / "raw.edf"
    raw.write_bytes(b"raw recording")
    prov = provenance(inputs={"raw": raw}, config={"l_freq": 1.0}, seed=0, step="ingest")
    return write_store(epochs(), tmp_path / name, kind="epochs", provenance=prov)


def test_a_written_store_carries_a_checksum_that_verifies(tmp_path, capsys):
    path = _written(tmp_path)
    (path / ".snakemake_timestamp").touch()  # Snakemake marks directory outputs so
    record = verify(path)
    assert set(record["arrays"]) >= {"data", "stimulus", "channel"}
    assert open_store(path, "epochs").attrs["checksum"] == record
    assert cli_main(["info", str(path)]) == 0
    assert "checksum: verified" in capsys.readouterr().out


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda g: g.attrs.update({"sfreq": 20.0}), "attrs or metadata changed"),
        (lambda g: g.attrs.__delitem__("provenance"), "attrs or metadata changed"),
        (lambda g: g["data"].__setitem__((0, 0, 0), 99.0), "data of data changed"),
        (lambda g: g.attrs.__delitem__("checksum"), "no content checksum"),
    ],
    ids=["sfreq", "provenance-removed", "data", "checksum-removed"],
)
def test_an_edited_store_is_refused_with_the_fix(tmp_path, edit, message, capsys):
    path = _written(tmp_path)
    edit(zarr.open_group(path, mode="r+", zarr_format=3))
    with pytest.raises(StoreError, match=message) as err:
        open_store(path)
    assert str(path) in str(err.value) and "Rerun the step that wrote it" in str(err.value)
    assert cli_main(["info", str(path)]) == 1
    assert message in capsys.readouterr().err


def test_a_chunk_file_edited_on_disk_is_refused(tmp_path):
    path = _written(tmp_path)
    chunk = next(p for p in (path / "data").rglob("*") if p.is_file() and p.name != "zarr.json")
    chunk.write_bytes(chunk.read_bytes()[:-1] + b"\0")
    with pytest.raises(StoreError, match="data of data changed"):
        open_store(path)


def test_a_streamed_store_is_sealed_too(tmp_path):
    path = tmp_path / "a.zarr"
    with StoreStream(path, "activations", dim="stimulus") as stream:
        ds = activations()
        stream.write(ds.isel(stimulus=[0]))
        stream.write(ds.isel(stimulus=[1, 2]))
    assert verify(path)["arrays"]["conv1"]
    np.testing.assert_array_equal(open_store(path, load=True)["conv1"].values, ds["conv1"].values)


def test_the_same_store_written_twice_has_identical_bytes(tmp_path):
    def digests(path: Path) -> dict[str, str]:
        files = sorted(p for p in path.rglob("*") if p.is_file())
        return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}

    first, second = _written(tmp_path, "1.zarr"), _written(tmp_path, "2.zarr")
    assert digests(first) == digests(second)


def test_network_checkpoint_bytes_do_not_depend_on_the_temporary_name(tmp_path):
    from brainbridge.simulate.network import SimNet, load_simnet, save_checkpoint

    torch.manual_seed(0)
    net = SimNet(3)
    save_checkpoint(net, tmp_path / "a.pt", classes=["x", "y", "z"], meta={})
    save_checkpoint(net, tmp_path / "b.pt", classes=["x", "y", "z"], meta={})
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "b.pt").read_bytes()
    load_simnet(tmp_path / "a.pt")


def test_stale_temporary_siblings_are_removed_by_the_next_write(tmp_path):
    target = tmp_path / "e.zarr"
    stale_dir = tmp_path / ".tmp-0123abcd-e.zarr"
    stale_dir.mkdir()
    (stale_dir / "zarr.json").write_text("{}")
    old_style = tmp_path / ".e.zarr.tmp-89abcdef"
    old_style.mkdir()
    other = tmp_path / ".tmp-0123abcd-f.zarr"  # another output's: kept
    other.mkdir()
    assert set(stale_siblings(target)) == {stale_dir, old_style}
    _written(tmp_path)
    assert not stale_dir.exists() and not old_style.exists() and other.exists()
    (tmp_path / ".tmp-deadbeef-t.txt").write_text("half")
    write_text("whole", tmp_path / "t.txt")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith("t.txt")) == ["t.txt"]


def test_a_failed_write_leaves_no_temporary_sibling(tmp_path):
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "d.zarr") as tmp:
        tmp.mkdir()
        (tmp / "x").write_text("partial")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_info_explains_a_temporary_folder(tmp_path, capsys):
    tmp = tmp_path / ".tmp-0123abcd-sim-eeg.zarr"
    tmp.mkdir()
    assert target_of(tmp) == tmp_path / "sim-eeg.zarr"
    assert cli_main(["info", str(tmp)]) == 1
    err = capsys.readouterr().err
    assert "temporary folder of an unfinished write of sim-eeg.zarr" in err
    assert "Traceback" not in err


def test_a_killed_writer_leaves_the_target_untouched_and_the_next_write_cleans(tmp_path):
    """SIGKILL in the middle of a store write: no store appears, the rerun cleans up."""
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import xarray as xr
        from test_store import epochs
        from brainbridge.store import write_store
        real = xr.Dataset.to_zarr
        def to_zarr(self, *a, **k):
            real(self, *a, **k)
            os.kill(os.getpid(), signal.SIGKILL)
        xr.Dataset.to_zarr = to_zarr
        write_store(epochs(), {str(tmp_path / "e.zarr")!r}, kind="epochs")
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], env=os.environ, capture_output=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert not (tmp_path / "e.zarr").exists()
    assert len(stale_siblings(tmp_path / "e.zarr")) == 1
    _written(tmp_path)
    assert stale_siblings(tmp_path / "e.zarr") == []


def test_provenance_prints_the_chain_back_to_the_raw_files(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    brain = _written(tmp_path)
    prov = provenance(inputs={"brain": brain}, step="align")
    top = write_store(activations(), tmp_path / "a.zarr", kind="activations", provenance=prov)
    node = lineage(top)
    assert node.step == "align" and node.inputs[0].step == "ingest"
    assert node.inputs[0].inputs[0].path.endswith("raw.edf")
    assert [node.status, node.inputs[0].status, node.inputs[0].inputs[0].status] == ["ok"] * 3
    (tmp_path / "raw.edf").write_bytes(b"another recording")
    assert cli_main(["provenance", str(top)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "<- step align" in out[0] and "<- step ingest" in out[1]
    assert out[2].strip().startswith("raw:") and "[changed since it was read]" in out[2]
    meta = json.loads((top / "zarr.json").read_text())
    assert meta["attributes"]["provenance"]["inputs"]["brain"]["path"] == str(brain)


def test_one_output_dir_has_one_workflow_and_a_killed_owner_is_taken_over(tmp_path):
    from brainbridge.lock import LockedError, acquire, lock_path, release

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        acquire(tmp_path, pid=sleeper.pid)  # a running workflow holds it
        with pytest.raises(LockedError, match=f"pid {sleeper.pid} on .*wait until it finishes"):
            acquire(tmp_path)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert acquire(tmp_path) == lock_path(tmp_path)  # its owner is gone: taken over
    assert json.loads(lock_path(tmp_path).read_text())["pid"] == os.getpid()
    release(tmp_path, pid=sleeper.pid)  # not the owner: kept
    assert lock_path(tmp_path).exists()
    release(tmp_path)
    assert not lock_path(tmp_path).exists()
