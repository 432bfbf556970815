"""The structure record, the plain mapping passed between pipeline stages (the ground floor).

Modules
-------
keys        key names and what each holds (``from nextham.record import keys as K``)
layout      orbital counts, block pointers, :class:`BlockLayout`, block iteration
flat        per-entry index maps of a flat block array, S ⊗ I₂ for spinor records
geometry    bond vectors and pair distances
"""
