"""Figures of a deployment: spiking against rate accuracy over presentation time, a raster of one
presentation, and spiking against predicted rates (from the report :func:`biorate.deploy.deploy`
returns)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..io import utf8_text
from ._figure import axes_grid, owns, save_figure

__all__ = ["plot_deploy"]


def _accuracy(ax: Any, report: dict) -> None:
    """Accuracy (or, without labels, agreement) against presentation time with binomial standard
    errors over the n images, on an axis at least 0.1 tall, so that one image (1/n) does not look
    like a cliff."""
    ds = np.asarray(report["durations_s"]) * 1e3
    n = max(int(report.get("n_images") or 1), 1)
    if report.get("rate_accuracy") is not None:
        acc, label, ref = np.asarray(report["spiking_accuracy"], float), "accuracy", "spiking"
        ax.axhline(report["rate_accuracy"], color="k", ls="--", label="rate network")
    else:
        acc, label = np.asarray(report["agreement"], float), "agreement"
        ref = "agreement with rate network"
    se = np.sqrt(acc * (1 - acc) / n)
    ax.errorbar(ds, acc, yerr=se, fmt="o-", capsize=3, label=f"{ref} (± 1 s.e., n = {n})")
    ax.set_ylabel(label)
    vals = np.concatenate([acc - se, acc + se, [report.get("rate_accuracy") or acc.mean()]])
    mid, half = 0.5 * (vals.min() + vals.max()), max(0.05, 0.55 * (vals.max() - vals.min()))
    top = min(1.0 + 0.01, mid + half)
    ax.set_ylim(max(0.0, top - 2 * half), top)
    ax.set_xscale("log")
    ax.set_xticks(ds, [f"{d:g}" for d in ds])
    ax.minorticks_off()
    ax.set_xlabel("presentation time (ms)")
    ax.legend(fontsize=8)


def _raster(ax: Any, report: dict) -> None:
    """One presentation's spikes, all spiking populations stacked."""
    samples = report.get("samples") or {}
    offset = 0
    for pop in report["populations"]:
        r = (samples.get("raster") or {}).get(pop["name"], {"i": [], "t_s": []})
        ax.plot(np.asarray(r["t_s"]) * 1e3, np.asarray(r["i"]) + offset, "|", ms=2,
                label=pop["name"])  # fmt: skip
        offset += pop["neurons_per_image"]
        ax.axhline(offset - 0.5, color="0.8", lw=0.5)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron (populations stacked)")
    ax.set_title(f"one presentation (label {samples.get('raster_label')})", fontsize=9)


def _rates(ax: Any, report: dict) -> None:
    """Spiking against predicted rates of every population, with the diagonal."""
    samples = report.get("samples") or {}
    top = 0.0
    for pop in report["populations"]:
        s = (samples.get("scatter") or {}).get(pop["name"])
        if not s:
            continue
        corr = pop["correlation"]
        lab = f"{pop['name']} (r = {corr:.3f})" if corr is not None else pop["name"]
        ax.plot(s["predicted_hz"], s["spiking_hz"], ".", ms=2, alpha=0.4, label=lab)
        top = max(top, max(s["predicted_hz"] + s["spiking_hz"] + [0.0]))
    ax.plot([0, top], [0, top], "k--", lw=0.8)
    ax.set_xlabel("rate network prediction (Hz)")
    ax.set_ylabel("spiking rate (Hz)")
    ax.legend(fontsize=7, markerscale=4)


def plot_deploy(report: dict, path: str | os.PathLike | None = None, title: str = "", *,
                ax: Any = None) -> Any:  # fmt: skip
    """Three panels: accuracy against presentation time (spiking, with the rate network's as a
    line), a raster of one presentation (all spiking populations stacked), and spiking against
    predicted rates of every population. ``report``: what :func:`biorate.deploy.deploy` returns;
    ``ax``: three axes to draw on. Returns the figure (saved when ``path`` is given)."""
    fig, grid = axes_grid(1, 3, ax=ax, figsize=(13, 3.8))
    panels = list(grid.flat)
    _accuracy(panels[0], report)
    _raster(panels[1], report)
    _rates(panels[2], report)
    if owns(ax):
        fig.suptitle(utf8_text(title) if title else f"{report['connectivity']} network, "
                     f"{report['mapping']['activation']}, {report['mapping']['encoding']} encoding")  # fmt: skip
        fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig
