"""The registered model as MLflow sees it: a `pyfunc` that takes the raw feature table and returns the score.

    import mlflow
    model = mlflow.pyfunc.load_model("models:/potential-churn@champion")
    model.predict(pd.read_parquet("features.parquet"))   # the table `potential features` writes

Input: the columns `potential features` writes, categories as text (or pandas categoricals); an `account_id`
column is accepted and ignored. Output: one column, the calibrated probability (`churn_probability`,
`expansion_probability`) or, for the uplift regressor, money (`expected_uplift`) — the numbers `rank` writes.

The booster (LightGBM model text) and the input spec, calibrator and the blend's logistic regression (JSON)
are artifacts of the model, so
`potential` loads the same files (`Tracker.champion`). Loading needs the `potential` package importable
(`mlflow models serve --env-manager local` from the environment `potential` is installed in).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema
from mlflow.types.schema import AnyType

from potential.models.training import TrainedModel

BOOSTER, METADATA = "booster", "metadata"  # names of the model's artifacts
OUTPUTS = {"churn": "churn_probability", "expansion": "expansion_probability", "uplift": "expected_uplift"}
ID = "account_id"


class PotentialModel(mlflow.pyfunc.PythonModel):
    """Raw feature table in, calibrated probability (or expected uplift in money) out.

    Holds nothing but the target when pickled; the booster and its spec are read from the model's artifacts
    in `load_context`, so the pickle stays a few bytes and the booster text is the one source of truth.
    """

    def __init__(self, target: str):
        self.target = target
        self.model: TrainedModel | None = None

    def load_context(self, context: Any) -> None:
        text = Path(context.artifacts[BOOSTER]).read_text(encoding="utf-8")
        meta = json.loads(Path(context.artifacts[METADATA]).read_text(encoding="utf-8"))
        self.model = TrainedModel.from_parts(text, meta)

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        if self.model is None:  # pragma: no cover - MLflow calls load_context first
            raise RuntimeError("model not loaded: use mlflow.pyfunc.load_model")
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        frame = frame.drop(columns=[ID], errors="ignore")
        missing = [c for c in self.model.spec.columns if c not in frame.columns]
        if missing:
            raise ValueError(
                f"the input lacks {len(missing)} feature column(s) the model was trained on "
                f"(e.g. {', '.join(missing[:3])}); pass the table `potential features --as-of ...` writes."
            )
        values = self.model.predict(frame)
        return pd.DataFrame({OUTPUTS[self.target]: np.asarray(values, dtype=float)}, index=frame.index)


def signature(model: TrainedModel) -> ModelSignature:
    """Inputs: `account_id` (optional, ignored), numbers as double, categories as any value (text or a
    pandas categorical: MLflow's `string` type refuses categoricals). Output: the one score column."""
    inputs = [ColSpec(AnyType(), ID, required=False)]
    for column in model.spec.columns:
        kind = AnyType() if column in model.spec.categories else "double"
        inputs.append(ColSpec(kind, column))
    return ModelSignature(Schema(inputs), Schema([ColSpec("double", OUTPUTS[model.target])]))


def input_example(features: pd.DataFrame, model: TrainedModel, rows: int = 3) -> pd.DataFrame:
    """A few rows as `potential features` writes them: account_id first, categories as text."""
    sample = features.head(rows)
    ids = (
        sample.index.get_level_values(ID).astype(str)
        if ID in (sample.index.names or [])
        else pd.Index([f"example-{i}" for i in range(len(sample))])
    )
    out = pd.DataFrame({ID: list(ids)})
    for column in model.spec.columns:
        values = sample[column] if column in sample.columns else pd.Series(np.nan, index=sample.index)
        if column in model.spec.categories:
            out[column] = [None if pd.isna(v) else str(v) for v in values]
        else:
            out[column] = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    return out
