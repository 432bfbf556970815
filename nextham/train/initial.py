"""Start a training from a trained model (fine-tuning): ``init_from`` in the config.

The model file gives the architecture, the input and output scales (pair scales included) and
the weights; the new data must be in its engine settings, spin mode and basis (per element).
This is how a small dataset (e.g. the scalar part of spin–orbit labels of heavy elements)
starts from the universal model instead of from ΔH = 0. A committee file (the shipped default
model) gives one of its members (``init_member``); fine-tuning each member in turn and joining
the results (``nextham committee``) makes a fine-tuned committee.
"""

from __future__ import annotations

from pathlib import Path

from ase.data import chemical_symbols

from nextham.dft.settings import EngineSettings
from nextham.errors import InputError
from nextham.model.committee import Committee
from nextham.model.files import load_model
from nextham.model.nextham import NextHAM


def initial_model(
    path: str | Path, settings: EngineSettings, basis_ls: dict, spinor: bool, member: int = 0
) -> NextHAM:
    """The model of file ``path`` (of a committee file, its ``member``), in training mode,
    checked against the data: their engine ``settings``, merged ``basis_ls`` ({Z: shell l's})
    and ``spinor`` mode."""
    model, meta = load_model(path)
    if isinstance(model, Committee):
        if not 0 <= member < model.size:
            raise InputError(
                f"init_member {member}: {path} is a committee of {model.size} members; give "
                f"init_member 0 … {model.size - 1}"
            )
        model = model.members[member]
    if bool(model.config.spinor) != bool(spinor):
        kinds = ("scalar", "spinor")
        raise InputError(
            f"init_from {path}: a {kinds[model.config.spinor]} model, the data are "
            f"{kinds[spinor]}; for spin–orbit labels start a scalar model with "
            "data.scalar_part: true"
        )
    theirs = EngineSettings.from_meta(meta)
    if theirs != settings:
        raise InputError(
            f"init_from {path}: trained on labels with engine settings {theirs.to_dict()}, the "
            f"data have {settings.to_dict()}; fine-tune on labels of the model's settings"
        )
    own = model.config.basis_ls
    other = sorted(z for z, ls in basis_ls.items() if tuple(own.get(z, ())) != tuple(ls))
    if other:
        names = ", ".join(chemical_symbols[z] for z in other)
        raise InputError(
            f"init_from {path}: the model has no basis (or another one) for {names}; train "
            "from scratch or start from a model whose basis covers every element of the data"
        )
    return model.train()
