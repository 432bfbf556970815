"""Per-epoch metrics to CSV, TensorBoard and the terminal (main rank only)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from nextham.store.atomic import atomic_output


class MetricLogger:
    """Appends one row per epoch to ``out/metrics.csv`` and ``out/tensorboard``.

    On resume, ``history`` is the trajectory restored from the checkpoint: the CSV is rebuilt
    from it, so rows written before a kill but not covered by the checkpoint disappear and rows
    the kill prevented from being written come back.
    """

    def __init__(self, out: Path, history: list[dict] | None = None, enabled: bool = True):
        self.enabled = enabled
        self.path = Path(out) / "metrics.csv"
        self.rows: list[dict] = [{k: r[k] for k in sorted(r)} for r in history or []]
        self.writer = None
        if not enabled:
            return
        Path(out).mkdir(parents=True, exist_ok=True)
        try:  # deferred: tensorboard is optional and slow to import
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(Path(out) / "tensorboard"), purge_step=len(self.rows))
        except ImportError:  # tensorboard is optional; CSV is always written
            self.writer = None

    def log(self, row: dict, echo: bool = True) -> None:
        if not self.enabled:
            return
        self.rows.append({k: row[k] for k in sorted(row)})
        keys = sorted({k for r in self.rows for k in r})
        with atomic_output(self.path) as tmp, open(tmp, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=keys)
            w.writeheader()
            w.writerows(self.rows)
        if self.writer is not None:
            for k, v in row.items():
                if k != "epoch" and isinstance(v, float) and math.isfinite(v):
                    self.writer.add_scalar(k, v, row["epoch"])
            self.writer.flush()
        if echo:
            print(
                f"epoch {row['epoch']:4d}  loss {row.get('train_total', float('nan')):.4g}  "
                f"val Gauge MAE {row['val_gauge_mae_meV']:.3f} meV  "
                f"(H0 {row['val_h0_gauge_mae_meV']:.3f})  {row['time_s']:.1f} s",
                flush=True,
            )

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
