"""Side-by-side timing shared by the benchmarks: alternate runs, report medians and ratios."""

from __future__ import annotations

import statistics
from collections.abc import Callable


def compare(
    plain: Callable[[int], float], ours: Callable[[int], float], *, repeats: int, items: int
) -> float:
    """Time `plain(seed)` and `ours(seed)` alternately `repeats` times; print and return the ratio.

    Each callable does the same work and returns its own seconds. Alternating
    (plain, zoo, plain, zoo, ...) lets load on a shared machine hit both
    alike. `items` (images × epochs, say) turns seconds into a rate. Returns
    the median of the runs' ratios plain / zoo (>= 1.0: zoo at least as fast).
    """
    plain_times, zoo_times = [], []
    for repeat in range(repeats):
        plain_times.append(plain(repeat))
        zoo_times.append(ours(repeat))
        print(
            f"run {repeat + 1}: plain {plain_times[-1]:.2f} s   zoo {zoo_times[-1]:.2f} s   "
            f"ratio {plain_times[-1] / zoo_times[-1]:.3f}",
            flush=True,
        )
    plain_median, zoo_median = statistics.median(plain_times), statistics.median(zoo_times)
    print(
        f"median: plain {plain_median:.2f} s ({items / plain_median:,.0f} images/s), "
        f"zoo {zoo_median:.2f} s ({items / zoo_median:,.0f} images/s)"
    )
    ratios = [p / z for p, z in zip(plain_times, zoo_times, strict=True)]
    ratio = statistics.median(ratios)
    print(
        f"ratio plain/zoo (>= 1.0: zoo at least as fast): median of the runs' ratios "
        f"{ratio:.3f}, ratio of the medians {plain_median / zoo_median:.3f}"
    )
    return ratio
