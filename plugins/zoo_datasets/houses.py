"""`houses`: drawn pictures of houses with listing data, and a price that needs both.

The chapter's multi-input example predicts a house's price from a photo and
its listing. This dataset makes that problem offline and checkable: each
sample is a 64×64 picture drawn from a few visible attributes and a row of ten
listing features, and the price is a sum of two parts:

- what only the picture shows: the state of the walls (fresh or weathered
  paint), the number of windows, a new (red) or old (grey) roof, a pool;
- what only the listing says: floor area, distance to the centre, age,
  bathrooms, school score, garage, lot size.

Each part carries about half of the price's variance, so a model that sees one
input alone cannot predict it well. The picture shows the floor area only
roughly (wider houses are larger) and adds distractions that do not affect the
price: sky and lawn tints, trees, where the house stands. Two features (rooms,
listing month) are a correlated and an irrelevant column, as real listings have.
"""

from __future__ import annotations

import numpy as np
import torch

import zoo
from zoo_datasets._images import check_memory, check_size, resize_images

FEATURES: tuple[str, ...] = (
    "area_m2",
    "rooms",
    "bathrooms",
    "age_years",
    "distance_km",
    "lot_m2",
    "garage",
    "school_score",
    "crime_index",
    "listing_month",
)
TARGET = "price"
_DRAWN = 64  # pictures are drawn at 64×64, then resized to `size`


def houses(n_samples: int = 4000, size: int = 64, random_state: int = 0) -> zoo.Data:
    """Drawn house pictures, ten listing features and a price (thousands), by seed.

    Tensors: `image` (float32, 3×size×size in [0, 1]), `features` (float32,
    the ten columns of `FEATURES` in their own units: m², years, km, …) and
    `y` (float32 price in thousands). Features and price are standardised by
    the trainer with training-split statistics.
    """
    if n_samples < 2:
        raise ValueError(f"n_samples must be at least 2, got {n_samples}")
    check_size(size)
    # Pictures are drawn at 64×64, then resized: both copies must fit in memory at once.
    check_memory(
        n_samples, 3, max(size, _DRAWN), "houses", remedy="choose fewer n_samples", copies=2
    )
    rng = np.random.default_rng(random_state)
    n = n_samples

    # Listing data, in their own units.
    area = np.exp(rng.normal(np.log(120), 0.35, n)).clip(35, 400)
    rooms = np.clip(np.round(area / 28 + rng.normal(0, 0.8, n)), 1, 12)
    bathrooms = np.clip(np.round(rooms / 3 + rng.normal(0, 0.5, n)), 1, 5)
    age = rng.uniform(0, 100, n)
    distance = rng.gamma(2.0, 4.0, n).clip(0.3, 40)
    lot = (area * rng.uniform(2.0, 6.0, n)).round()
    garage = (rng.random(n) < 0.5).astype(np.float64)
    school = rng.uniform(1, 10, n).round(1)
    crime = np.clip(60 - 1.2 * distance + rng.normal(0, 15, n), 0, 100).round(1)
    month = rng.integers(1, 13, n).astype(np.float64)
    features = np.stack(
        [area, rooms, bathrooms, age, distance, lot, garage, school, crime, month], axis=1
    )

    # What only the picture shows.
    condition = rng.random(n)  # 0: weathered walls, 1: fresh paint
    windows = rng.integers(1, 7, n)
    new_roof = rng.random(n) < 0.5
    pool = rng.random(n) < 0.35

    listing_part = (
        1.0 * (area - 120)
        - 4.0 * (distance - 8)
        - 0.6 * (age - 50)
        + 12.0 * (bathrooms - 2)
        + 8.0 * (school - 5.5)
        + 20.0 * garage
        + 0.01 * (lot - 500)
    )
    picture_part = (
        125.0 * (condition - 0.5) + 18.0 * (windows - 3.5) + 52.0 * new_roof + 70.0 * pool
    )
    price = 450.0 + listing_part + picture_part + rng.normal(0, 12.0, n)

    images = _draw(rng, area, condition, windows, new_roof, pool)
    image = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
    if size != _DRAWN:
        image = resize_images(image, size, "houses")
    return zoo.Data(
        {
            "image": image,
            "features": torch.tensor(features, dtype=torch.float32),
            "y": torch.tensor(price, dtype=torch.float32),
        },
        implies={"channels": 3, "in_channels": 3, "image_size": size, "in_features": 10},
        info={"columns": {"features": list(FEATURES), "y": [TARGET]}, "target_unit": "thousands"},
        standardise=("features", "y"),
    )


def _draw(
    rng: np.random.Generator,
    area: np.ndarray,
    condition: np.ndarray,
    windows: np.ndarray,
    new_roof: np.ndarray,
    pool: np.ndarray,
) -> np.ndarray:
    """N×64×64×3 float32 pictures: sky, lawn, a house with roof and windows, a pool, trees."""
    n = len(area)
    s = _DRAWN
    out = np.empty((n, s, s, 3), dtype=np.float32)
    sky = np.array([0.62, 0.80, 0.95]) + rng.normal(0, 0.05, (n, 3))
    lawn = np.array([0.35, 0.62, 0.30]) + rng.normal(0, 0.05, (n, 3))
    weathered, fresh = np.array([0.48, 0.40, 0.32]), np.array([0.96, 0.93, 0.84])
    walls = weathered + condition[:, None] * (fresh - weathered)
    roofs = np.where(new_roof[:, None], [0.78, 0.20, 0.15], [0.34, 0.34, 0.38])
    # Wider houses are larger, roughly: the picture hints at the area, no more.
    widths = np.clip(np.round(24 + 8 * np.log(area / 120) + rng.normal(0, 4, n)), 16, 44)
    trees = rng.integers(0, 3, n)
    ground = 46
    for i in range(n):
        image = out[i]
        image[:ground] = sky[i]
        image[ground:] = lawn[i]
        count = int(windows[i])
        per_row = (count + 1) // 2
        width = max(int(widths[i]), 10 + 4 * per_row)  # room for every window
        left = int(rng.integers(2, s - width - 2))
        top = ground - 16
        image[top:ground, left : left + width] = walls[i]
        # A triangular roof: each row up is two pixels narrower on both sides.
        for row in range(9):
            inset = 2 * row - 2
            a, b = left + inset, left + width - inset
            if a < b:
                image[top - 1 - row, max(a, 0) : min(b, s)] = roofs[i]
        image[ground - 6 : ground, left + width - 6 : left + width - 2] = (0.30, 0.18, 0.10)
        # Windows in up to two rows, left of the door.
        span = width - 10
        for k in range(count):
            row, col = divmod(k, per_row)
            x = left + 2 + (col * span) // per_row + (span // per_row - 3) // 2
            image[top + 2 + 7 * row : top + 5 + 7 * row, x : x + 3] = (0.55, 0.80, 0.98)
        for _ in range(int(trees[i])):
            tx, ty = int(rng.integers(3, s - 3)), int(rng.integers(ground + 3, s - 3))
            image[ty - 3 : ty + 3, tx - 3 : tx + 3] = (0.10, 0.40, 0.12)
        if pool[i]:
            px = 2 if left > s // 2 else s - 16
            image[ground + 6 : ground + 12, px : px + 14] = (0.15, 0.45, 0.90)
    return out.clip(0.0, 1.0)
