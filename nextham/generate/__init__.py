"""Generation: run the engine over many structures (process pool or Dask) into a dataset.

See :func:`nextham.generate.runner.build_dataset`.
"""

from nextham.generate.runner import build_dataset

__all__ = ["build_dataset"]
