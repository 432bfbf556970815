"""Per-epoch metrics to CSV, TensorBoard and the terminal (main rank only)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from nextham.store.atomic import atomic_output


class MetricLogger:
    """Appends one row per epoch to ``out/metrics.csv`` and ``out/tensorboard``.

    On resume, rows of epochs after ``resume_epoch`` (written before a kill, not covered by a
    checkpoint) are dropped so the file matches the restored trajectory.
    """

    def __init__(self, out: Path, enabled: bool = True, resume_epoch: int = -1):
        self.enabled = enabled
        self.path = Path(out) / "metrics.csv"
        self.rows: list[dict] = []
        self.writer = None
        if not enabled:
            return
        Path(out).mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            with open(self.path) as fh:
                self.rows = [r for r in csv.DictReader(fh) if int(r["epoch"]) <= resume_epoch]
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(Path(out) / "tensorboard"), purge_step=resume_epoch + 1)
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
