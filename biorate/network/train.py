"""Training: the minibatch loop, when to stop, the per-epoch diagnostics (:class:`History`) and the
divergence checks.

The loop (:func:`fit_stochastic`, scikit-learn's ``_fit_stochastic``) asks the network for the
loss and gradients of a minibatch (``net._backprop``, the dynamics' forward and backward passes)
and steps the optimizer; everything it reports is measured on that same forward pass.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, NoReturn, Protocol

import numpy as np

from ..errors import DataError, NetworkError
from .graph import Graph
from .optim import make_optimizer

__all__ = ["History", "DIVERGENCE_FACTOR", "fit_stochastic", "stratified_split"]

_SATURATION_MARGIN = 0.05  # "saturated": output within 5% of the activation's range from a bound
_DEAD_EPS = 1e-12  # "dead": |g'(z)| below this on every sample seen in an epoch
# "diverged": an epoch's mean training loss above this multiple of the loss before training (the
# loss of a fresh softmax net is ln(k); a learning rate far too high drives it to 1e3-1e9), and
# above this multiple of 0.1 (a warm start from a loss near 0)
DIVERGENCE_FACTOR = 10.0
# a minibatch's largest product (rows x fan-in x fan-out multiply-adds) up to which BLAS runs on
# one thread: a 200 x 64 @ 64 x 64 product (0.8 M) is over before threads would start, and on a
# busy 2-core machine OpenBLAS's threads made an epoch of digits 64-64 at batch 128 3-6x slower
# (benchmarks/train.py prints the ratio)
SINGLE_THREAD_BLAS_MAX = 4_000_000


@contextmanager
def small_blas(rows: int, sizes: Any) -> Iterator[None]:
    """Run the block with BLAS on one thread when ``rows`` samples through populations of
    ``sizes`` make products below :data:`SINGLE_THREAD_BLAS_MAX` (threadpoolctl, which
    scikit-learn installs; without it, nothing changes). The results are the same numbers."""
    widest = sorted(int(n) for n in sizes)[-2:]
    if rows * widest[0] * widest[-1] > SINGLE_THREAD_BLAS_MAX:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn depends on it
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@dataclass
class History:
    """Per-epoch training diagnostics (lists indexed by epoch; see :meth:`RateNetwork.fit`).

    ``loss`` and ``accuracy`` are means over the epoch's minibatches, each measured just before its
    update (the loss without the L2 term, like ``val_loss``); ``val_*`` are measured on the held-out
    set after the epoch.

    ``stop_reason`` says why training ended: ``"converged"`` (the training loss improved by less
    than ``tol`` for ``patience`` epochs), ``"early_stopping"`` (the same on the validation loss,
    best weights restored) or ``"max_epochs"`` (the cap was reached first).

    ``grad_norm[pop]`` is the mean over minibatches of the Euclidean norm of the gradient of all
    parameters projecting into population ``pop`` (its biases included). ``saturated_fraction`` is
    the fraction of hidden-unit outputs within 5 % of the activation's range from either bound
    (``None`` when the range is unbounded); ``dead_fraction`` the fraction of hidden units whose
    derivative was zero on every training sample of the epoch.

    Fixed-point training (``training="fixed_point"`` with feedback; empty lists otherwise), per
    epoch: ``fp_iterations`` the mean and ``fp_iterations_max`` the largest number of steps a
    sample took to reach its fixed point, ``fp_residual_max`` the largest final residual,
    ``fp_unconverged`` the fraction of samples that did not converge, ``fp_adjoint_iterations``
    the largest number of adjoint steps, ``fp_contraction`` the largest contraction factor of
    the iteration (ratio of successive residuals; the loop gain is (rho - 1 + alpha)/alpha) and
    ``fp_rescaled`` the number of batches after which the safeguard scaled the feedback down.
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    grad_norm: dict[str, list[float]] = field(default_factory=dict)
    saturated_fraction: list[float | None] = field(default_factory=list)
    dead_fraction: list[float] = field(default_factory=list)
    epoch_time_s: list[float] = field(default_factory=list)
    fp_iterations: list[float] = field(default_factory=list)
    fp_iterations_max: list[float] = field(default_factory=list)
    fp_residual_max: list[float] = field(default_factory=list)
    fp_unconverged: list[float] = field(default_factory=list)
    fp_adjoint_iterations: list[float] = field(default_factory=list)
    fp_contraction: list[float | None] = field(default_factory=list)
    fp_rescaled: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    stop_reason: str | None = None

    @property
    def epochs(self) -> int:
        return len(self.loss)

    def to_dict(self) -> dict:
        return asdict(self) | {"epochs": self.epochs}

    def last(self) -> dict:
        """The last epoch's diagnostics as one dict (what ``fit``'s callback receives)."""
        rec = {k: v[-1] for k, v in self.to_dict().items() if isinstance(v, list) and v}
        rec["grad_norm"] = {k: v[-1] for k, v in self.grad_norm.items()}
        return rec


class Learner(Protocol):
    """What the loop needs of a network (a :class:`~biorate.network.RateNetwork`)."""

    graph_: Graph
    params_: dict[str, np.ndarray]
    activation_: Any
    history_: History
    training_batch_size: int
    sizes: Any
    validation_fraction: float
    early_stopping: bool
    patience: int | None
    tol: float
    optimizer: str
    training_learning_rate: float
    momentum: float

    def _backprop(self, X: np.ndarray, y: np.ndarray) -> tuple[float, dict, dict]: ...
    def _after_step(self, cache: dict) -> float: ...
    def evaluate(self, X: Any, y: Any) -> dict[str, float]: ...


def stratified_split(y: np.ndarray, fraction: float,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Indices (train, validation): ``fraction`` of each class held out."""
    val = []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        val.append(idx[: int(round(fraction * idx.size))])
    val_idx = np.sort(np.concatenate(val))
    train_idx = np.setdiff1d(np.arange(y.size), val_idx)
    if val_idx.size == 0 or train_idx.size == 0:
        raise DataError("validation_fraction leaves an empty training or validation set")
    return train_idx, val_idx


def fit_stochastic(net: Learner, X: np.ndarray, y: np.ndarray, cap: int, rng: np.random.Generator,
                   callback: Callable[[int, dict], Any] | None) -> History:  # fmt: skip
    """Train ``net`` (its parameters initialised) on checked data for at most ``cap`` epochs,
    drawing the validation split and the minibatches from ``rng``, stopping as
    :meth:`RateNetwork.fit` says; returns the History (also ``net.history_``)."""
    Xv = yv = None
    if net.validation_fraction > 0:
        tr, va = stratified_split(y, net.validation_fraction, rng)
        X, y, Xv, yv = X[tr], y[tr], X[va], y[va]
    opt = make_optimizer(net.optimizer, net.training_learning_rate, net.momentum)
    hist = History(grad_norm={name: [] for name in net.graph_.population_names[1:]})
    net.history_ = hist
    with small_blas(max(net.training_batch_size, 1), net.sizes):
        return _loop(net, X, y, Xv, yv, cap, rng, opt, hist, callback)


def _loop(net: Learner, X: np.ndarray, y: np.ndarray, Xv: np.ndarray | None, yv: Any, cap: int,
          rng: np.random.Generator, opt: Any, hist: History,
          callback: Callable[[int, dict], Any] | None) -> History:  # fmt: skip
    """The epochs of :func:`fit_stochastic`, until a stopping rule or the cap."""
    limit = DIVERGENCE_FACTOR * max(net.evaluate(X, y)["loss"], 0.1)
    best, best_params, wait = np.inf, None, 0
    for epoch in range(1, cap + 1):
        # overflow is divergence, and the epoch reports it as such (no NumPy warnings)
        with np.errstate(over="ignore", invalid="ignore"):
            _epoch(net, X, y, rng, opt, hist, limit, epoch)
        monitor = hist.loss[-1]
        if Xv is not None:
            ev = net.evaluate(Xv, yv)
            hist.val_loss.append(ev["loss"])
            hist.val_accuracy.append(ev["accuracy"])
            if net.early_stopping:
                monitor = ev["loss"]
        if monitor < best - net.tol:
            best, wait, hist.best_epoch = monitor, 0, epoch
            if net.early_stopping:
                best_params = {k: v.copy() for k, v in net.params_.items()}
        else:
            wait += 1
        if callback is not None:
            callback(epoch, hist.last())
        if net.patience is not None and wait >= net.patience:
            hist.stop_reason = "early_stopping" if net.early_stopping else "converged"
            break
    else:
        hist.stop_reason = "max_epochs"
    if net.early_stopping and best_params is not None:
        net.params_ = best_params
    return hist


def _diverged(net: Learner, epoch: int, loss: float, limit: float, what: str = "") -> NoReturn:
    """Discard the parameters (a diverged network cannot be saved or used) and say why."""
    del net.params_
    lr = net.training_learning_rate
    what = what or (
        f"loss {loss:.4g}"
        + (
            f" (above {limit:.4g}, {DIVERGENCE_FACTOR:g}x its value before training)"
            if loss == loss
            else ""
        )
    )
    raise NetworkError(f"training diverged at epoch {epoch}: {what}; lower the learning "
                       f"rate ({lr})")  # fmt: skip


class _Units:
    """Saturated and dead hidden units over an epoch, from the forward passes already done."""

    def __init__(self, graph: Graph, act: Any) -> None:
        L = len(graph.sizes)
        self.hidden = list(range(1, L - 1)) + ([] if graph.linear_output else [L - 1])
        self.blo, self.bhi = (float(b) for b in act.bounds)
        self.bounded = np.isfinite(self.blo) and np.isfinite(self.bhi)
        self.margin = _SATURATION_MARGIN * (self.bhi - self.blo) if self.bounded else 0.0
        self.sat = self.units = 0
        self.gp_max = {p: np.zeros(graph.sizes[p]) for p in self.hidden}  # largest |g'| per unit

    def add(self, cache: dict) -> None:
        gT, gpT = cache["g"][-1], cache["gp"]
        for p in self.hidden:
            if self.bounded:
                gz = gT[p]
                self.sat += int(np.count_nonzero((gz < self.blo + self.margin)
                                                 | (gz > self.bhi - self.margin)))  # fmt: skip
                self.units += gz.size
            if gpT[p] is not None:
                np.maximum(self.gp_max[p], np.abs(gpT[p]).max(axis=0), out=self.gp_max[p])

    def record(self, hist: History) -> None:
        hist.saturated_fraction.append(
            self.sat / self.units if self.bounded and self.units else None
        )
        alive = [m > _DEAD_EPS for m in self.gp_max.values()]
        n_hidden = sum(a.size for a in alive)
        hist.dead_fraction.append(
            float(sum(int((~a).sum()) for a in alive) / n_hidden) if n_hidden else 0.0
        )


class _FixedPoints:
    """The fixed-point solves of an epoch (fixed-point training only)."""

    def __init__(self) -> None:
        self.iters: list[np.ndarray] = []
        self.res = self.adj = self.rescaled = 0.0
        self.gain: float | None = None
        self.unconverged = 0

    def add(self, cache: dict, factor: float) -> None:
        fp = cache.get("fp")
        if fp is None:
            return
        self.iters.append(fp["iterations"])
        self.res = max(self.res, float(np.max(fp["residual"])))
        self.unconverged += int(np.count_nonzero(~fp["converged"]))
        self.adj = max(self.adj, float(fp["adjoint"]["iterations"]))
        if np.all(fp["converged"]) and fp["contraction"].size:
            self.gain = max(self.gain or 0.0, float(np.max(fp["contraction"])))
        self.rescaled += factor < 1.0

    def record(self, hist: History) -> None:
        if not self.iters:
            return
        it = np.concatenate(self.iters)
        hist.fp_iterations.append(float(it.mean()))
        hist.fp_iterations_max.append(float(it.max()))
        hist.fp_residual_max.append(self.res if math.isfinite(self.res) else None)
        hist.fp_unconverged.append(self.unconverged / it.size)
        hist.fp_adjoint_iterations.append(self.adj)
        hist.fp_contraction.append(self.gain)
        hist.fp_rescaled.append(float(self.rescaled))


def _epoch(net: Learner, X: np.ndarray, y: np.ndarray, rng: np.random.Generator, opt: Any,
           hist: History, limit: float, epoch: int) -> None:  # fmt: skip
    """One pass over ``(X, y)`` in shuffled minibatches; appends the epoch's diagnostics."""
    t0 = time.perf_counter()
    graph, n, bs = net.graph_, X.shape[0], net.training_batch_size
    units = _Units(graph, net.activation_)
    fp = _FixedPoints()
    order = rng.permutation(n)
    tot_loss = correct = 0.0
    norms = np.zeros(len(graph.sizes) - 1)
    nb = 0
    for i in range(0, n, bs):
        idx = order[i : i + bs]
        xb, yb = X[idx], y[idx]
        _, grads, cache = net._backprop(xb, yb)
        if not np.isfinite(cache["data_loss"]):
            _diverged(net, epoch, cache["data_loss"], limit)
        out = cache["h"][-1][-1]
        tot_loss += cache["data_loss"] * idx.size
        correct += int((out.argmax(axis=1) == yb).sum())
        norms += list(graph.population_norms(grads).values())
        units.add(cache)
        opt.step(net.params_, grads)
        fp.add(cache, net._after_step(cache))
        nb += 1
    hist.loss.append(tot_loss / n)
    if not hist.loss[-1] <= limit:
        _diverged(net, epoch, hist.loss[-1], limit)
    from .fileschema import MAX_PARAMETER  # (fileschema reads History from here)

    for k, v in net.params_.items():  # the epoch's last step is not in its loss
        if not np.isfinite(v).all():
            _diverged(net, epoch, math.nan, limit, f"parameter {k} became NaN or inf")
        if v.size and float(np.abs(v).max()) > MAX_PARAMETER:  # a file could not hold it
            _diverged(net, epoch, math.nan, limit, f"parameter {k} grew to "
                      f"{float(np.abs(v).max()):.3g}, beyond {MAX_PARAMETER:g}")  # fmt: skip
    hist.accuracy.append(correct / n)
    for name, v in zip(graph.population_names[1:], norms / nb, strict=True):
        hist.grad_norm[name].append(float(v))
    units.record(hist)
    fp.record(hist)
    hist.epoch_time_s.append(time.perf_counter() - t0)
