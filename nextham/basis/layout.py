"""Dataset-wide padded ("full") orbital layout.

Different elements carry different numbers of s, p, d and f shells. To process all atom pairs
of a batch with one set of tensors, every atom's orbitals are placed into a common padded
layout: for each angular momentum l the layout has ``slots[l]`` shells, the largest number of
shells of that l of any element. Full orbitals are grouped by l (all s slots, then all p
slots, ...), each slot holding 2l + 1 functions in PySCF order. An atom uses the first
``count_l`` slots of each l, in the order its basis lists its l-shells; the rest is padding.

Example: O with shells (s, s, p, p, d) and H with (s, s, p) give slots = (2, 2, 1) and
F = 2·1 + 2·3 + 1·5 = 13 full orbitals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from nextham.conventions import n_orbitals


class OrbitalLayout:
    """Padded orbital layout shared by all elements of a data set.

    Parameters
    ----------
    basis_ls
        Mapping atomic number Z -> angular momenta of its shells, in PySCF order
        (the record's ``BASIS_LS``).

    Attributes
    ----------
    species : tuple of int
        Atomic numbers, sorted; species index s refers to ``species[s]``.
    slots : tuple of int
        Number of padded shells per l, for l = 0 … lmax.
    offsets : tuple of int
        First full orbital of each l.
    dim : int
        Number F of full orbitals.
    index_table : (n_species, max_orb) int64
        Full-orbital index of every orbital of each species (PySCF order), padded with −1.
    n_orb : (n_species,) int64
        Number of spatial orbitals of each species.
    """

    def __init__(self, basis_ls: Mapping[int, Sequence[int]]):
        if not basis_ls:
            raise ValueError("basis_ls is empty: the layout needs at least one element")
        self.basis_ls = {int(z): tuple(int(l) for l in ls) for z, ls in basis_ls.items()}
        for z, ls in self.basis_ls.items():
            if not ls or min(ls) < 0 or max(ls) > 3:
                raise ValueError(f"element {z}: shells {ls} must be non-empty with 0 ≤ l ≤ 3")
        self.species = tuple(sorted(self.basis_ls))
        self.lmax = max(max(ls) for ls in self.basis_ls.values())
        self.slots = tuple(
            max(ls.count(l) for ls in self.basis_ls.values()) for l in range(self.lmax + 1)
        )
        sizes = [n * (2 * l + 1) for l, n in enumerate(self.slots)]
        self.offsets = tuple(int(x) for x in np.concatenate([[0], np.cumsum(sizes)[:-1]]))
        self.dim = int(sum(sizes))
        self.n_orb = np.array([n_orbitals(self.basis_ls[z]) for z in self.species], dtype=np.int64)
        self.index_table = np.full((len(self.species), int(self.n_orb.max())), -1, dtype=np.int64)
        for s, z in enumerate(self.species):
            idx = self.orbital_index(z)
            self.index_table[s, : len(idx)] = idx

    def orbital_index(self, z: int) -> np.ndarray:
        """Full-orbital index of each orbital of element ``z``, shape (n_z,), PySCF order."""
        seen = [0] * (self.lmax + 1)
        out = []
        for l in self.basis_ls[int(z)]:
            start = self.offsets[l] + seen[l] * (2 * l + 1)
            out.extend(range(start, start + 2 * l + 1))
            seen[l] += 1
        return np.asarray(out, dtype=np.int64)

    def species_index(self, numbers: Iterable[int]) -> np.ndarray:
        """Species index of each atomic number, shape (N,); raises for unknown elements."""
        numbers = np.asarray(list(numbers), dtype=np.int64)
        lookup = {z: s for s, z in enumerate(self.species)}
        unknown = sorted(set(numbers.tolist()) - set(lookup))
        if unknown:
            raise ValueError(f"elements {unknown} are not in the layout's basis {self.species}")
        return np.array([lookup[int(z)] for z in numbers], dtype=np.int64)

    def shell_slots(self) -> np.ndarray:
        """(F,) int64: the padded shell (slot) of each padded orbital, numbered over l, then
        over the shells of that l; ``sum(slots)`` slots in all."""
        first = np.concatenate([[0], np.cumsum(self.slots)[:-1]]).astype(np.int64)
        return np.concatenate(
            [np.repeat(first[l] + np.arange(n), 2 * l + 1) for l, n in enumerate(self.slots)]
        ).astype(np.int64)

    def shell_pairs(self) -> list[tuple[int, int]]:
        """All (l1, l2) with padded shells on both sides."""
        ls = [l for l, n in enumerate(self.slots) if n > 0]
        return [(l1, l2) for l1 in ls for l2 in ls]

    def __repr__(self) -> str:
        return f"OrbitalLayout(species={self.species}, slots={self.slots}, dim={self.dim})"
