"""Category codes for the scikit-learn baselines: categorical columns as integers, without object arrays.

scikit-learn's encoders work on object arrays element by element (a frequency count over a million strings
takes seconds); pandas turns a column into codes against a fixed category list in one vectorised step.
`CategoryCodes` learns each column's categories at fit and maps any later frame onto them (-1 = missing or
a category the fit never saw), so a one-hot encoder downstream sees small integers only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin


class CategoryCodes(TransformerMixin, BaseEstimator):
    """Integer codes of categorical columns against the categories seen at fit (-1: missing or unseen)."""

    def fit(self, X: pd.DataFrame, y: object = None) -> CategoryCodes:
        frame = pd.DataFrame(X)
        self.categories_ = [_categories(frame[c]) for c in frame.columns]
        self.n_features_in_ = frame.shape[1]
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        frame = pd.DataFrame(X)
        out = np.empty(frame.shape, dtype=np.int64)
        for j, (column, categories) in enumerate(zip(frame.columns, self.categories_, strict=True)):
            values = frame[column]
            if isinstance(values.dtype, pd.CategoricalDtype):
                values = values.cat.rename_categories([str(v) for v in values.cat.categories])
            else:
                values = values.where(values.isna(), values.astype(str))
            out[:, j] = pd.Categorical(values, categories=categories).codes
        return out

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.asarray(input_features if input_features is not None else [], dtype=object)


def _categories(values: pd.Series) -> list[str]:
    if isinstance(values.dtype, pd.CategoricalDtype):
        present = values.cat.remove_unused_categories().cat.categories
    else:
        present = pd.Index(values.dropna().unique())
    return sorted({str(v) for v in present})
