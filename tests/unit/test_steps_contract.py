"""The lazy step registry and the declared step contracts (`brainbridge run STEP`)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from brainbridge.cli import main as cli_main
from brainbridge.steps import STEPS, get_step, step_module
from brainbridge.steps.contract import Contract, contract_of


def test_the_command_line_imports_no_step_and_no_science() -> None:
    """`brainbridge --help` builds the parser with every step name but imports none of them."""
    code = (
        "import sys; from brainbridge.cli import build_parser; build_parser(); "
        "print(sorted(m for m in sys.modules if m.startswith(('brainbridge.steps.', 'torch', "
        "'xarray', 'numpy', 'mne', 'nilearn', 'matplotlib'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# Steps registered before contracts existed may lack one (then `run` checks nothing).
UNDECLARED = {"decode-identity", "concat-tables", "generalize", "generalize-group"}
UNDECLARED |= {"decoding-report", "align-group"}


@pytest.mark.parametrize("step", sorted(STEPS))
def test_every_step_resolves_and_declares_its_contract(step: str) -> None:
    fn = get_step(step)
    assert fn.__module__ == step_module(step)
    contract = contract_of(fn)
    if step in UNDECLARED and contract is None:
        pytest.skip(f"{step}: no contract declared yet")
    assert isinstance(contract, Contract)
    assert contract.outputs, f"{step} declares no outputs"
    assert f"step {step}:" in contract.describe(step)


def test_a_missing_input_prints_the_declaration(capsys, tmp_path) -> None:
    code = cli_main(["run", "align", "-o", f"store={tmp_path}/a.zarr", "-o", "table=t.tsv"])
    err = capsys.readouterr().err
    assert code == 2
    assert "missing input 'brain'" in err and "missing input 'activations'" in err
    assert "missing params key 'alignment'" in err
    assert "step align:" in err and "activations store" in err  # the declaration
    assert not (tmp_path / "a.zarr").exists()


def test_an_extra_input_or_output_is_refused(capsys) -> None:
    inputs = ["-i", "truth=t.json", "-i", "alignment=a.zarr", "-i", "bogus=x"]
    code = cli_main(["run", "recover", *inputs, "-o", "table=r.tsv", "-o", "html=r.html"])
    err = capsys.readouterr().err
    assert code == 2
    assert "unexpected input 'bogus'" in err and "unexpected output 'html'" in err


def test_step_help_prints_the_declaration(capsys) -> None:
    assert cli_main(["run", "decode", "--help"]) == 0
    out = capsys.readouterr().out
    assert "inputs (-i):" in out and "brain" in out and "datasets.NAME.decode" in out


def test_contract_checks() -> None:
    contract = Contract(
        inputs={"a": ""},
        optional_inputs={"b": ""},
        outputs={"o": ""},
        params={"name": ""},
        optional_params={"seed": ""},
    )
    assert contract.problems({"a": 1, "b": 2}, {"o": 1}, {"name": 1, "threads": 1}) == []
    assert contract.problems({}, {"o": 1, "x": 1}, {"name": 1, "other": 1}) == [
        "missing input 'a'",
        "unexpected output 'x'",
        "unexpected params key 'other'",
    ]
    open_params = Contract(params={"name": ""}, extra_params="the dataset's settings")
    assert open_params.problems({}, {}, {"name": 1, "anything": 1}) == []
    assert open_params.problems({}, {}, {}) == ["missing params key 'name'"]
    assert "the dataset's settings" in open_params.describe("x")
