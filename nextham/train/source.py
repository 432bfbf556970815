"""Training records streamed from the store: an index of entries and an LRU record cache.

The index (:func:`index_datasets`) reads each entry's atoms, pair count, basis and metadata,
not its matrices, so it costs a few kB per structure however large the dataset. Records are
loaded (and checksum-verified) when a batch needs them and kept in a least-recently-used cache
bounded in bytes (``data.cache_mb``): with a budget above the dataset's size every record is
read once, as an in-memory loader would; with a smaller one memory stays bounded by the
budget plus one batch, independent of the dataset size.

With ``scalar_part`` the datasets hold GTH spin–orbit (spinor) records and the model is a
scalar one: each record is read as its scalar part ½ Re(↑↑ + ↓↓) of H0 and HT
(:func:`nextham.predict.spin_orbit.scalar_part`; ΔH is spin-diagonal and real there), and the
model file gets the scalar settings, so that it predicts such crystals with ``--spin soc``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from nextham.dft.settings import EngineSettings
from nextham.errors import InputError
from nextham.predict.spin_orbit import scalar_part as spin_diagonal_part
from nextham.predict.spin_orbit import scalar_settings
from nextham.record import keys as K
from nextham.store.dataset import Dataset
from nextham.store.hdf5 import read_summary


@dataclass(frozen=True)
class EntryRef:
    """One finished entry: where it is and what the sampler and batcher need of it."""

    dataset: str
    name: str
    label: str  # "<dataset dir name>/<entry>"
    n_edges: int
    numbers: tuple[int, ...]  # atomic numbers, in atom order
    nbytes: int
    basis_ls: dict
    spinor: bool
    ke_cutoff_ev: float | None


def index_datasets(
    paths: Sequence[str], scalar_part: bool = False
) -> tuple[list[EntryRef], EngineSettings, list[str]]:
    """Index every finished entry of the datasets; all must share their engine settings.
    ``scalar_part``: GTH spin–orbit datasets read as scalar records (module docstring); the
    settings returned are then the scalar run's. Entries whose metadata says the SCF did not
    converge (stored before `generate` refused them: their HT is no self-consistent
    Hamiltonian) are left out; their labels are returned third."""
    refs: list[EntryRef] = []
    skipped: list[str] = []
    settings = None
    for p in paths:
        ds = Dataset(p)
        if settings is None:
            settings = ds.settings
        elif ds.settings != settings:
            raise InputError(f"{p} was generated with other engine settings than {paths[0]}")
        for name in ds.names:
            s = read_summary(ds.entry_path(name))
            if s[K.META].get("scf_converged") is False:
                skipped.append(f"{ds.path.name}/{name}")
                continue
            refs.append(EntryRef(
                dataset=str(ds.path), name=name, label=f"{ds.path.name}/{name}",
                n_edges=s["n_edges"], numbers=tuple(int(z) for z in s[K.NUMBERS]),
                nbytes=s["nbytes"] // (4 if scalar_part else 1), basis_ls=s[K.BASIS_LS],
                spinor=s[K.SPINOR] and not scalar_part,
                ke_cutoff_ev=s[K.META].get("ke_cutoff_ev"),
            ))  # fmt: skip
    if not refs:
        raise InputError(f"no finished structures in {list(paths)}; run `nextham generate` first")
    if scalar_part:
        gth = settings.spin == "soc" and settings.soc_method == "gth" and settings.h0_spin_orbit
        if not gth:
            raise InputError(
                f"data.scalar_part needs GTH spin–orbit datasets (generate --spin soc "
                f"--soc-method gth); {paths[0]} has spin {settings.spin!r}, soc_method "
                f"{settings.soc_method!r}, h0_spin_orbit {settings.h0_spin_orbit}"
            )
        settings = scalar_settings(settings)
    return refs, settings, skipped


class RecordSource(Sequence):
    """``source[i]``: the record of entry ``refs[i]``, through an LRU cache of ``cache_bytes``."""

    def __init__(self, refs: Sequence[EntryRef], cache_bytes: float, scalar_part: bool = False):
        self.refs = list(refs)
        self.scalar_part = scalar_part
        self.cache_bytes = float(cache_bytes)
        self._cache: OrderedDict[int, dict] = OrderedDict()
        self._datasets: dict[str, Dataset] = {}
        self.cached_bytes = 0
        self.peak_bytes = 0  # largest cache size after an access (bounded by the budget)
        self.loads = 0

    def __len__(self) -> int:
        return len(self.refs)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i in self._cache:
            self._cache.move_to_end(i)
            return self._cache[i]
        ref = self.refs[i]
        ds = self._datasets.setdefault(ref.dataset, Dataset(ref.dataset))
        record = ds.load(ref.name)
        if self.scalar_part:
            record = spin_diagonal_part(record)
        self.loads += 1
        self._cache[i] = record
        self.cached_bytes += ref.nbytes
        while self.cached_bytes > self.cache_bytes and len(self._cache) > 1:
            old, _ = self._cache.popitem(last=False)
            self.cached_bytes -= self.refs[old].nbytes
        self.peak_bytes = max(self.peak_bytes, self.cached_bytes)
        return record

    def __iter__(self) -> Iterator[dict]:
        return (self[i] for i in range(len(self)))

    def subset(self, indices: Sequence[int]) -> Iterator[dict]:
        """The records of ``indices``, one at a time."""
        return (self[i] for i in indices)
