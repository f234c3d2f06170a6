"""Reading the spiking network out: spikes binned per image and presentation time, rates of every
population, and the decision rule (:func:`decide`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["decide", "Readout"]


def decide(counts: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Class per image from output spike counts ``(n, k)``; ties go to the earliest first spike
    (``first``, seconds, ``inf`` for none); an image with no output spike gets ``-1``."""
    counts = np.asarray(counts, dtype=float)
    top = counts.max(axis=1, keepdims=True)
    tied = counts == top
    t = np.where(tied, first, np.inf)
    pred = np.argmin(t, axis=1)  # earliest first spike among the tied units (argmin: lowest index)
    only = tied.sum(axis=1) == 1
    pred = np.where(only, np.argmax(counts, axis=1), pred)
    return np.where(top[:, 0] > 0, pred, -1)


class Readout:
    """Spikes of all batches, binned per image.

    ``counts[d]`` and ``first[d]``: per presentation time ``d`` (seconds) the output spike counts
    in ``[0, d)`` and each output unit's first spike time (``inf`` for none), shape ``(n, k)``;
    ``rates[p]``: every population's spike count in ``[transient, T)``, in Hz once
    :meth:`finish` is called; ``raster``: the spikes of image 0 per population name.
    """

    def __init__(self, sizes: Sequence[int], names: Sequence[str], n: int,
                 durations: Sequence[float], transient_s: float, npu: int) -> None:  # fmt: skip
        self.sizes, self.names, self.durations = list(sizes), list(names), list(durations)
        self.transient_s, self.npu = transient_s, npu
        k, L = self.sizes[-1], len(self.sizes)
        self.counts = {d: np.zeros((n, k)) for d in self.durations}
        self.first = {d: np.full((n, k), np.inf) for d in self.durations}
        self.rates = {p: np.zeros((n, self.sizes[p])) for p in range(1, L)}
        self.raster: dict[str, dict[str, list]] = {}

    def add(self, start: int, spikes: dict[int, tuple[np.ndarray, np.ndarray]]) -> None:
        """Bin one batch's spikes ``{p: (neuron indices, times in s)}``; its first image is image
        ``start``."""
        out = len(self.sizes) - 1
        for p, (i, t) in spikes.items():
            unit = i // self.npu  # (image, unit) flat index within the batch
            img, u = unit // self.sizes[p], unit % self.sizes[p]
            keep = t >= self.transient_s
            np.add.at(self.rates[p], (start + img[keep], u[keep]), 1.0)
            if p == out:
                for d in self.durations:
                    w = t < d
                    np.add.at(self.counts[d], (start + img[w], u[w]), 1.0)
                    np.minimum.at(self.first[d], (start + img[w], u[w]), t[w])
            if start == 0:
                self.raster[self.names[p]] = {
                    "i": i[img == 0].tolist(),
                    "t_s": t[img == 0].round(6).tolist(),
                }

    def finish(self, t_max: float) -> None:
        """Turn the counts of ``rates`` into rates (Hz) over ``[transient, t_max)``, per neuron."""
        window = t_max - self.transient_s
        for p in self.rates:
            self.rates[p] /= window * self.npu

    def decisions(self) -> dict[float, np.ndarray]:
        """The class per image at every presentation time (:func:`decide`)."""
        return {d: decide(self.counts[d], self.first[d]) for d in self.durations}
