"""Aggregate numbers of a dataset, read from its manifest (no entry is loaded)."""

from __future__ import annotations

from ase.data import chemical_symbols

from nextham.dft.settings import MAGNETIC_ELEMENTS
from nextham.store.dataset import Dataset


def dataset_summary(ds: Dataset) -> dict:
    """Aggregate numbers of a dataset from its manifest (no entry is loaded)."""
    entries = ds.manifest["entries"]
    rows = list(entries.values())
    elements = {chemical_symbols[z] for r in rows for z in r["numbers"]}
    size = sum(ds.entry_path(n).stat().st_size for n in entries if ds.entry_path(n).exists())
    if ds.source is not None:
        spinor = {r["spinor"] for r in rows}
        engine = {
            "source": f"imported:{ds.source.get('format')} ({ds.source.get('path')})",
            "spin": "/".join(sorted("soc" if x else "scalar" for x in spinor)) or None,
            "basis": "from the source",
            "kmesh": None,
            "kspacing": None,
        }
    else:
        st = ds.settings
        engine = {
            "spin": st.spin,
            "basis": st.basis,
            "kmesh": list(st.kmesh) if st.kspacing is None else "per cell",
            "kspacing": st.kspacing,
        }
    errs = [r["roundtrip_error_ht_ev"] for r in rows if r.get("roundtrip_error_ht_ev") is not None]
    bands = [r["band_error_ev"] for r in rows if r.get("band_error_ev") is not None]
    s_eigs = [r["min_overlap_eig"] for r in rows if r.get("min_overlap_eig") is not None]
    return {
        "structures": len(ds.manifest["names"]),
        "finished": len(entries),
        "failed": len(ds.manifest["failed"]),
        "elements": sorted(elements),
        "magnetic elements computed non-magnetic": sorted(elements & MAGNETIC_ELEMENTS) or "none",
        **engine,
        "atoms": sum(r["natoms"] for r in rows),
        "pairs": sum(r["n_edges"] for r in rows),
        "matrix_entries": sum(r["n_entries"] for r in rows),
        "disk_mb": size / 1e6,
        "h0_time_s": sum(r.get("time_h0_s") or 0.0 for r in rows),
        "scf_time_s": sum(r.get("time_scf_s") or 0.0 for r in rows),
        "scf_unconverged": sum(1 for r in rows if r.get("scf_converged") is False),
        "max_roundtrip_error_mev": 1e3 * max(errs) if errs else None,
        "max_band_error_mev": 1e3 * max(bands) if bands else None,
        "min_overlap_eig": min(s_eigs) if s_eigs else None,
        "spectral_check_failed": sum(1 for r in rows if r.get("spectral_passed") is False),
    }
