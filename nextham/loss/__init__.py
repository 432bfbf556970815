"""Losses and gauge-invariant metrics (see ``docs/losses.md``); the Bloch sums and eigensolvers
they use are in :mod:`nextham.spectra`, the record layout in :mod:`nextham.record`.

Modules
-------
realspace   L1/L2 on ΔH, flat or padded with a mask
kspace      projected low/high-energy loss in the reference eigenbasis
gauge       optimal rigid shift μ* and gauge-corrected differences
tracegrad   TraceGrad auxiliary target and loss
total       loss weights and their combination
metrics     Gauge MAE, band MAE, ghost states (numpy, meV)
report      per-structure reports with baselines, and their aggregation
"""
