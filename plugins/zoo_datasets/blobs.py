"""The chapter's synthetic data: two Gaussian blobs in 2-D plus a column of noise."""

from __future__ import annotations

import numpy as np
import torch

import zoo


def blobs(
    n_samples: int = 500,
    n_features: int = 2,
    centers: int = 2,
    cluster_std: float = 1.0,
    random_state: int = 123,
    noise_features: int = 1,
    standardize: bool = True,
) -> zoo.Data:
    """Blobs from scikit-learn's make_blobs, plus uniform noise columns, standardised.

    With the defaults this is the chapter's data: 500 samples, 2 centres,
    cluster_std 1, random_state 123, one uniform noise column, every column
    scaled to zero mean and unit variance. The chapter drew the noise column
    from numpy's unseeded global generator; here it comes from `random_state`,
    so the data are the same every time. Tensors: `x` (float32, n x features)
    and `y` (int64 blob label). Options use scikit-learn's names, so
    `--set n_samples=200000` scales it.
    """
    from sklearn.datasets import make_blobs

    if n_samples < 2:
        raise ValueError(f"n_samples must be at least 2, got {n_samples}")
    if noise_features < 0:
        raise ValueError(f"noise_features must be >= 0, got {noise_features}")
    if cluster_std <= 0:
        raise ValueError(f"cluster_std must be > 0, got {cluster_std}")
    features, labels = make_blobs(
        n_samples,
        n_features=n_features,
        centers=centers,
        cluster_std=cluster_std,
        random_state=random_state,
    )
    noise = np.random.RandomState(random_state).random_sample((n_samples, noise_features))
    features = np.concatenate((features, noise), axis=1)
    if standardize:
        spread = features.std(axis=0)
        features = (features - features.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    x = torch.tensor(features, dtype=torch.float32)
    y = torch.tensor(labels, dtype=torch.int64)
    return zoo.Data(
        {"x": x, "y": y},
        implies={"in_features": x.shape[1]},
        info={"label_names": [f"blob {i}" for i in range(int(y.max()) + 1)]},
    )
