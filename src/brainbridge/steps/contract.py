"""What a step reads and writes: named inputs, named outputs and the config keys it needs.

Each step declares its contract beside its function (as MNE-BIDS-Pipeline steps do)::

    @declare(
        inputs={"brain": "brain store"},
        outputs={"store": "rdms store"},
        params={"name": "dataset name", "rdm": "datasets.NAME.rdm"},
        optional_params={"seed": "random seed"},
    )
    def brain_rdms(inputs, outputs, params): ...

``brainbridge run STEP`` checks the arguments against it before the step runs and, on a missing
or unexpected name, prints the declaration and exits non-zero.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

# Always accepted in params: added by the command line itself.
COMMON_PARAMS = ("threads",)


@dataclass(frozen=True)
class Contract:
    """Names (with a one-line description each) of a step's inputs, outputs and params.

    ``extra_params``: when not empty, params may hold further keys (e.g. a dataset's whole
    config section); it says which.
    """

    inputs: Mapping[str, str] = field(default_factory=dict)
    outputs: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    optional_inputs: Mapping[str, str] = field(default_factory=dict)
    optional_outputs: Mapping[str, str] = field(default_factory=dict)
    optional_params: Mapping[str, str] = field(default_factory=dict)
    extra_params: str = ""

    def problems(self, inputs: Mapping, outputs: Mapping, params: Mapping) -> list[str]:
        """Each missing or unexpected input, output or params key, as a sentence."""
        found = []
        for what, given, required, optional in (
            ("input", inputs, self.inputs, self.optional_inputs),
            ("output", outputs, self.outputs, self.optional_outputs),
            ("params key", params, self.params, self.optional_params),
        ):
            missing = [k for k in required if k not in given]
            found += [f"missing {what} {k!r}" for k in missing]
            if what == "params key" and self.extra_params:
                continue
            allowed = {*required, *optional, *(COMMON_PARAMS if what == "params key" else ())}
            found += [f"unexpected {what} {k!r}" for k in given if k not in allowed]
        return found

    def describe(self, name: str) -> str:
        """The declaration as the command line prints it."""
        lines = [f"step {name}:"]
        for title, flag, required, optional in (
            ("inputs", "-i", self.inputs, self.optional_inputs),
            ("outputs", "-o", self.outputs, self.optional_outputs),
            ("params", "-p", self.params, self.optional_params),
        ):
            lines.append(f"  {title} ({flag}):" + ("" if required or optional else " none"))
            lines += [f"    {k:<18} {doc}" for k, doc in required.items()]
            lines += [f"    {k:<18} (optional) {doc}" for k, doc in optional.items()]
            if title == "params" and self.extra_params:
                lines.append(f"    {'...':<18} {self.extra_params}")
        return "\n".join(lines)


def declare(**fields) -> Callable[[Callable], Callable]:
    """Attach a :class:`Contract` built from ``fields`` to a step function (``fn.contract``)."""
    contract = Contract(**fields)

    def attach(fn: Callable) -> Callable:
        fn.contract = contract
        return fn

    return attach


def contract_of(fn: Callable) -> Contract | None:
    """A step's declared contract, or None for a step without one."""
    return getattr(fn, "contract", None)
