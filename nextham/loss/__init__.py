"""Losses, k-space transforms and gauge-invariant metrics (see ``docs/losses.md``).

Modules
-------
layout      per-entry index maps of the flat block layout of a record
bloch       Bloch sums H(k), S(k) (torch, differentiable)
realspace   L1/L2 on ΔH, flat or padded with a mask
kspace      projected low/high-energy loss in the reference eigenbasis
gauge       optimal rigid shift μ* and gauge-corrected differences
tracegrad   TraceGrad auxiliary target and loss
total       loss weights and their combination
metrics     Gauge MAE, band MAE, ghost states (numpy, meV)
report      per-structure reports with baselines, and their aggregation
"""
