"""Small reference and production files for the engine tests: numbers with NaN and missing
cells, a categorical with a missing value and (in production) an unseen category, a boolean
spelled True/False, a class prediction and a confidence; written as CSV and as Parquet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq


def _table(rows: int, seed: int, shift: float, cities: list[str | None]) -> pa.Table:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, rows)
    x[rng.random(rows) < 0.01] = np.nan
    prediction = rng.choice(["fraud", "legit"], rows).tolist()
    return pa.table(
        {
            "amount": x,
            "items": rng.integers(0, 4, rows).astype(float),
            "city": rng.choice(
                np.array(cities, dtype=object), rows, p=[0.5, 0.3, 0.19, 0.01]
            ).tolist(),
            "flag": rng.choice(["True", "False"], rows).tolist(),
            "prediction": prediction,
            "confidence": rng.random(rows) * (1.0 - shift / 4),
            "label": [p if rng.random() < 0.8 else "legit" for p in prediction],
        }
    )


def write_files(folder: Path, rows: int = 3000) -> dict[str, Path]:
    """``ref.csv``, ``ref.parquet``, ``prod.csv``, ``prod.parquet`` (production drifted)."""
    reference = _table(rows, 1, 0.0, ["paris", "lyon", "nice", None])
    production = _table(rows, 2, 1.0, ["paris", "lyon", "marseille", None]).drop_columns(["label"])
    out = {}
    for name, table in (("ref", reference), ("prod", production)):
        out[f"{name}.parquet"] = folder / f"{name}.parquet"
        out[f"{name}.csv"] = folder / f"{name}.csv"
        pq.write_table(table, out[f"{name}.parquet"])
        pa_csv.write_csv(table, out[f"{name}.csv"])
    return out
