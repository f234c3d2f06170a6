"""Rate-coded networks: populations plus projections, one engine for every connectivity.

A network is a list of populations (population 0 is the input, the last one the output) and a
list of :class:`Projection` s between them. Connectivity is data:

- ``dense`` s -> d: a weight matrix ``W`` (shape ``(size_s, size_d)``) feeding d's input current
  ``z_d``. With s < d it is a forward projection; with s >= d a *feedback* projection.
- ``skip`` s -> d (s < d): adds s's activity to d's output *after* the nonlinearity, through the
  identity where the sizes agree and a learned matrix ``P`` where they differ (He et al. 2016,
  "Deep residual learning", doi:10.1109/CVPR.2016.90). It gives gradients a path around ``g``.

The named connectivities build these lists: ``feedforward`` (dense i -> i+1), ``residual``
(feedforward plus a skip from each hidden population to the next hidden one) and ``feedback``
(feedforward plus dense i+1 -> i for every pair above the input, i.e. top-down projections).

Dynamics. Every population above the input follows discretised rate dynamics

    z_p(t) = b_p + sum_{s<p} h_s(t) W_sp + sum_{s>=p} h_s(t-1) W_sp
    u_p(t) = g(z_p(t)) + sum_skip h_s(t) P_sp
    h_p(t) = (1 - alpha) h_p(t-1) + alpha u_p(t),      h_p(0) = 0,  h_0(t) = x,

with ``alpha = dt/tau`` (unit free). Populations update in index order within a step, so forward
projections see the current step and feedback projections the previous one. An acyclic graph is
the special case ``steps = 1, alpha = 1``: one sweep, which is also the fixed point of its rate
dynamics. A graph with feedback is unrolled over ``steps`` time steps and trained by
backpropagation through time (Werbos 1990, doi:10.1109/5.58337); the output is ``h_out(steps)``.

Output. For the cross-entropy losses the output population is linear (its ``g`` is the identity)
and the loss applies its own link (softmax, logistic); for ``squared_error`` the output applies the
activation ``g`` and targets are placed inside the activation's range (see :meth:`targets_for`).

Shapes: inputs ``X`` are ``(n_samples, sizes[0])`` floats, labels ``y`` are ``(n_samples,)``
integers in ``[0, sizes[-1])``. All quantities here are unit free (rates are normalised by the
activation's ``y_scale``; see the activation JSON).
"""

from __future__ import annotations

import json
import math
import operator
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from .errors import BiorateError, BiorateWarning, DataError, NetworkError
from .losses import get_loss
from .optim import make_optimizer

__all__ = [
    "RateNetwork",
    "FlaggedActivationWarning",
    "Projection",
    "History",
    "build_projections",
    "midpoint",
    "CONNECTIVITIES",
]

CONNECTIVITIES = ("feedforward", "residual", "feedback")
SCHEMA = 1
_SATURATION_MARGIN = 0.05  # "saturated": output within 5% of the activation's range from a bound
_DEAD_EPS = 1e-12  # "dead": |g'(z)| below this on every sample seen in an epoch
# "diverged": an epoch's mean training loss above this multiple of the loss before training (the
# loss of a fresh softmax net is ln(k); a learning rate far too high drives it to 1e3-1e9), and
# above this multiple of 0.1 (a warm start from a loss near 0)
DIVERGENCE_FACTOR = 10.0


@dataclass(frozen=True)
class Projection:
    """One projection ``source -> target`` of kind ``"dense"`` or ``"skip"`` (see module doc)."""

    source: int
    target: int
    kind: str = "dense"

    @property
    def feedback(self) -> bool:
        return self.kind == "dense" and self.source >= self.target

    def key(self, sizes: Sequence[int]) -> str | None:
        """Parameter name of its matrix; ``None`` for an identity skip (no parameters)."""
        if self.kind == "dense":
            return f"W{self.source}_{self.target}"
        if sizes[self.source] != sizes[self.target]:
            return f"P{self.source}_{self.target}"
        return None


def build_projections(sizes: Sequence[int], connectivity: str | Sequence[Any]) -> list[Projection]:
    """Projection list of a named connectivity, or validate an explicit one.

    ``connectivity`` is a name from :data:`CONNECTIVITIES` or a sequence of :class:`Projection`,
    dicts ``{"source", "target", "kind"}`` or tuples ``(source, target, kind)``.
    """
    L = len(sizes)
    if isinstance(connectivity, str):
        if connectivity not in CONNECTIVITIES:
            raise NetworkError(
                f"unknown connectivity {connectivity!r}; choose one of {', '.join(CONNECTIVITIES)}"
            )
        projs = [Projection(i, i + 1) for i in range(L - 1)]
        if connectivity == "residual":
            projs += [Projection(i - 1, i, "skip") for i in range(2, L - 1)]
        elif connectivity == "feedback":
            # top-down between hidden populations (the linear output, logits, is not fed back);
            # a single hidden population gets a recurrent projection onto itself instead
            projs += [Projection(i + 1, i) for i in range(1, L - 2)] or [Projection(1, 1)] * (L > 2)
        return projs
    projs = []
    for item in connectivity:
        try:
            if isinstance(item, Projection):
                p = item
            elif isinstance(item, dict):
                p = Projection(
                    int(item["source"]), int(item["target"]), str(item.get("kind", "dense"))
                )
            else:
                p = Projection(
                    int(item[0]), int(item[1]), str(item[2]) if len(item) > 2 else "dense"
                )
        except (KeyError, IndexError, TypeError, ValueError):
            raise NetworkError(
                f"bad projection {item!r}: expected (source, target, kind)"
            ) from None
        if p.kind not in ("dense", "skip"):
            raise NetworkError(f"projection {p}: kind must be 'dense' or 'skip'")
        if not (0 <= p.source < L and 1 <= p.target < L):
            raise NetworkError(f"projection {p.source}->{p.target}: populations are 0..{L - 1} "
                               "and population 0 (the input) cannot be a target")  # fmt: skip
        if p.kind == "skip" and p.source >= p.target:
            raise NetworkError(f"skip projection {p.source}->{p.target} must go forward")
        projs.append(p)
    if len(set(projs)) != len(projs):
        raise NetworkError("connectivity lists the same projection twice")
    for d in range(1, L):
        if not any(p.kind == "dense" and p.target == d for p in projs):
            raise NetworkError(f"population {d} has no dense input projection")
    return projs


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
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    grad_norm: dict[str, list[float]] = field(default_factory=dict)
    saturated_fraction: list[float | None] = field(default_factory=list)
    dead_fraction: list[float] = field(default_factory=list)
    epoch_time_s: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    stop_reason: str | None = None

    @property
    def epochs(self) -> int:
        return len(self.loss)

    def to_dict(self) -> dict:
        return asdict(self) | {"epochs": self.epochs}


def _resolve_activation(spec: Any) -> Any:
    """An object with ``__call__``, ``derivative`` and ``bounds`` is used as is; names, paths and
    dicts go through :mod:`biorate.activation`."""
    if callable(spec) and hasattr(spec, "derivative") and hasattr(spec, "bounds"):
        return spec
    from . import activation as _act

    try:
        if isinstance(spec, dict):
            return _act.Activation.from_dict(spec)
        return _act.get_activation(spec)
    except NetworkError:
        raise
    except BiorateError as exc:
        raise NetworkError(str(exc)) from exc


def _upgrade_args(args: dict) -> dict:
    """Constructor arguments saved by an earlier version, in today's terms (same schema 1):
    ``early_stopping`` without a validation set monitored the training loss (today's default
    stopping: off), and a ``patience`` below 1 meant no stopping (today's ``None``)."""
    if args.get("early_stopping") and not args.get("validation_fraction"):
        args["early_stopping"] = False
    patience = args.get("patience")
    if isinstance(patience, int | float) and not isinstance(patience, bool) and patience < 1:
        args["patience"] = None
    return args


class FlaggedActivationWarning(BiorateWarning):
    """A network is built on an activation exported from a fit flagged as poor."""


def _warn_if_flagged(act: Any) -> None:
    """Warn (:class:`FlaggedActivationWarning`) when training starts on an activation that records
    a fit flagged as poor (``Activation.fit_ok`` false, as the fit report and ``biorate fit`` call
    it)."""
    if getattr(act, "fit_ok", True) is not False:
        return
    flags = ", ".join(getattr(act, "fit_flags", ())) or "flagged"
    warnings.warn(f"activation {getattr(act, 'name', act)!r} comes from a fit flagged as poor "
                  f"({flags}); the network learns with a curve its data do not support",
                  FlaggedActivationWarning, stacklevel=3)  # fmt: skip


def _sequence(v: Any) -> list:
    if isinstance(v, str) or not hasattr(v, "__iter__"):
        raise NetworkError(f"sizes must list population sizes, e.g. [64, 64, 10], got {v!r}")
    return list(v)


def _whole(v: Any, name: str) -> int:
    """An integer given as an int or a whole float (64, 64.0); a bool, 2.5 or NaN is refused."""
    if isinstance(v, bool | np.bool_):
        raise NetworkError(f"{name} must be whole numbers, got {v!r}")
    try:
        return operator.index(v)
    except TypeError:
        pass
    if isinstance(v, float | np.floating) and math.isfinite(v) and float(v).is_integer():
        return int(v)
    raise NetworkError(f"{name} must be whole numbers, got {v!r}")


def midpoint(act: Any) -> float:
    """Pre-activation z where ``act`` is half-way between its bounds (bisection on [-50, 50]);
    0 when a bound is infinite or ``act`` does not cross the half-way level there."""
    lo, hi = (float(b) for b in act.bounds)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return 0.0
    level = 0.5 * (lo + hi)
    a, b = -50.0, 50.0
    ga, gb = (float(np.asarray(act(np.array([v])))[0]) - level for v in (a, b))
    if ga * gb >= 0:
        return 0.0
    for _ in range(60):  # 100 / 2^60: far below float64 resolution of z
        m = 0.5 * (a + b)
        gm = float(np.asarray(act(np.array([m])))[0]) - level
        if gm * ga > 0:
            a, ga = m, gm
        else:
            b = m
    z = 0.5 * (a + b)
    return 0.0 if abs(z) < 1e-12 else z


class RateNetwork:
    """A rate-coded network of populations and projections, trained by backprop / BPTT.

    Parameters
    ----------
    sizes : population sizes, input first and output (number of classes) last, e.g.
        ``[64, 64, 64, 10]``.
    activation : the hidden units' ``g``: a built-in name (``"sigmoid"``, ``"tanh"``, ``"relu"``,
        ``"leaky_relu"``, ``"softplus"``), a path to a fitted activation JSON, or an Activation.
    connectivity : ``"feedforward"``, ``"residual"``, ``"feedback"`` or an explicit projection list.
    loss : ``"softmax_ce"`` (default), ``"sigmoid_ce"`` or ``"squared_error"``.
    optimizer, learning_rate, momentum : ``"adam"`` (lr 1e-3) or ``"sgd"`` (lr 0.1, momentum).
    batch_size : minibatch size; l2 : weight decay coefficient (loss += l2/2 * sum W^2; the default
        1e-4 is scikit-learn's MLP ``alpha``).
    validation_fraction : fraction of the training set held out (stratified) for validation.
    patience, tol : training runs until converged: it stops once the monitored loss has not
        improved by ``tol`` for ``patience`` epochs (scikit-learn's ``n_iter_no_change`` and
        ``tol``), or at the ``epochs`` cap of :meth:`fit`. ``patience=None`` runs every epoch.
    early_stopping : monitor the validation loss instead of the training loss (needs
        ``validation_fraction > 0``) and restore the weights of its best epoch.
    dtype : ``"float64"`` or ``"float32"``.
    init_std : ``None`` (default) draws weights with std 1/sqrt(fan-in) (LeCun et al. 1998,
        "Efficient backprop"); a float uses that fixed std (e.g. 1.0, the naive choice).
    targets : (low, high) target values for ``sigmoid_ce``/``squared_error``; (0.15, 0.85) keeps
        sigmoid outputs out of saturation.
    derivative_offset : constant added to g' in the backward pass (Fahlman 1988, ~0.1), so that
        saturated units still pass gradient. 0 gives the exact gradient.
    steps, alpha : time steps T and alpha = dt/tau of the rate dynamics (graphs with feedback).
    seed : seeds initialisation, shuffling and the validation split.

    Unlike scikit-learn, arguments are validated here (an unknown activation fails at once).
    Learned attributes end in ``_``: ``params_`` (dict name -> array), ``history_``.
    """

    def __init__(self, sizes: Sequence[int], activation: Any = "sigmoid",
                 connectivity: str | Sequence[Any] = "feedforward", *, loss: str = "softmax_ce",
                 optimizer: str = "adam", learning_rate: float | None = None,
                 momentum: float = 0.9, batch_size: int = 32, l2: float = 1e-4,
                 validation_fraction: float = 0.0, early_stopping: bool = False,
                 patience: int | None = 10, tol: float = 1e-4, dtype: str = "float64",
                 init_std: float | None = None, targets: tuple[float, float] = (0.0, 1.0),
                 derivative_offset: float = 0.0, steps: int = 10, alpha: float = 0.5,
                 seed: int | None = None) -> None:  # fmt: skip
        self.sizes = [_whole(s, "sizes") for s in _sequence(sizes)]
        if len(self.sizes) < 2 or any(s < 1 for s in self.sizes):
            raise NetworkError(f"sizes must list >= 2 positive population sizes, got {list(sizes)}")
        self.activation = activation
        self.connectivity = connectivity
        self.loss, self.optimizer, self.learning_rate = loss, optimizer, learning_rate
        self.momentum, self.batch_size, self.l2 = momentum, int(batch_size), float(l2)
        self.validation_fraction, self.early_stopping = float(validation_fraction), early_stopping
        self.patience = None if patience is None else int(patience)
        self.tol, self.dtype = float(tol), str(dtype)
        self.init_std, self.targets = init_std, (float(targets[0]), float(targets[1]))
        self.derivative_offset, self.seed = float(derivative_offset), seed
        self.steps, self.alpha = int(steps), float(alpha)
        self._check()

    # ------------------------------------------------------------------ structure
    def _check(self) -> None:
        if self.dtype not in ("float32", "float64"):
            raise NetworkError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        self._dt = np.dtype(self.dtype)
        self._loss = get_loss(self.loss)
        make_optimizer(self.optimizer, self.learning_rate, self.momentum)  # validates
        if self.batch_size < 1:
            raise NetworkError(f"batch_size must be >= 1, got {self.batch_size}")
        if not 0 <= self.validation_fraction < 1:
            raise NetworkError(
                f"validation_fraction must be in [0, 1), got {self.validation_fraction}"
            )
        for name in ("l2", "derivative_offset", "tol", "momentum", "alpha"):
            if not math.isfinite(getattr(self, name)):
                raise NetworkError(f"{name} must be a finite number, got {getattr(self, name)}")
        if not all(math.isfinite(t) for t in self.targets):
            raise NetworkError(f"targets must be finite numbers, got {self.targets}")
        if self.l2 < 0 or self.derivative_offset < 0:
            raise NetworkError("l2 and derivative_offset must be >= 0")
        if self.patience is not None and self.patience < 1:
            raise NetworkError(f"patience must be >= 1 epoch or None, got {self.patience}")
        if not self.tol >= 0:
            raise NetworkError(f"tol must be >= 0, got {self.tol}")
        if self.early_stopping and self.validation_fraction == 0:
            raise NetworkError("early_stopping monitors a validation set: "
                               "set validation_fraction > 0 (scikit-learn uses 0.1)")  # fmt: skip
        if self.init_std is not None and not 0 < self.init_std < math.inf:
            raise NetworkError(f"init_std must be a positive finite number or None, "
                               f"got {self.init_std}")  # fmt: skip
        self.projections = build_projections(self.sizes, self.connectivity)
        self._act = _resolve_activation(self.activation)
        self.has_feedback = any(p.feedback for p in self.projections)
        if self.has_feedback:
            if self.steps < 1:
                raise NetworkError(f"a graph with feedback needs steps >= 1 (T), got {self.steps}")
            if not 0 < self.alpha <= 1:
                raise NetworkError(f"alpha = dt/tau must be in (0, 1], got {self.alpha}")
            self._T, self._a = self.steps, self.alpha
        else:
            self._T, self._a = 1, 1.0  # acyclic: one sweep is the fixed point
        lo, hi = self.targets
        if self.loss == "softmax_ce" and (lo, hi) != (0.0, 1.0):
            raise NetworkError(
                "targets apply to sigmoid_ce and squared_error; softmax_ce needs (0, 1)"
            )
        if self.loss == "sigmoid_ce" and not 0 <= lo < hi <= 1:
            raise NetworkError(
                f"sigmoid_ce targets must satisfy 0 <= low < high <= 1, got {self.targets}"
            )
        L, sizes = len(self.sizes), self.sizes
        # per target population: incoming (source, key) lists, in a fixed order
        self._dense_in: list[list[tuple[int, str]]] = [[] for _ in range(L)]
        self._skip_in: list[list[tuple[int, str | None]]] = [[] for _ in range(L)]
        for p in self.projections:
            lst = self._dense_in if p.kind == "dense" else self._skip_in
            lst[p.target].append((p.source, p.key(sizes)))
        self._linear_out = self._loss.linear_output
        self.population_names = ["in"] + [f"h{i}" for i in range(1, L - 1)] + ["out"]
        self._target_rows = self._target_table()

    @property
    def activation_(self) -> Any:
        """The resolved Activation object used by the hidden populations."""
        return self._act

    def initialize(self) -> RateNetwork:
        """Draw fresh parameters: weights ~ N(0, std^2) with std = init_std or 1/sqrt(fan-in)
        (fan-in = all dense inputs of the target), learned skips ~ N(0, 1/size_source).

        Biases of the linear output are 0; those of populations applying ``g`` start at the
        pre-activation where ``g`` is half-way between its bounds (:func:`midpoint`): 0 for
        sigmoid and tanh, 1 for a fitted Hill curve (whose g(z) = z^n/(1+z^n) is flat near 0,
        so that units would otherwise start silent and never learn), 0 for unbounded ranges."""
        self._check_memory()
        self._bias0 = midpoint(self._act)
        rng = np.random.default_rng(self.seed)
        params: dict[str, np.ndarray] = {}
        for d in range(1, len(self.sizes)):
            fan_in = sum(self.sizes[s] for s, _ in self._dense_in[d])
            std = self.init_std if self.init_std is not None else 1.0 / np.sqrt(fan_in)
            for s, key in self._dense_in[d]:
                params[key] = rng.normal(0.0, std, (self.sizes[s], self.sizes[d]))
            for s, key in self._skip_in[d]:
                if key is not None:
                    params[key] = rng.normal(
                        0.0, 1 / np.sqrt(self.sizes[s]), (self.sizes[s], self.sizes[d])
                    )
            linear = d == len(self.sizes) - 1 and self._linear_out
            params[f"b{d}"] = np.full(self.sizes[d], 0.0 if linear else self._bias0)
        self.params_ = {k: v.astype(self._dt) for k, v in params.items()}
        self._rng = rng
        return self

    def _check_memory(self) -> None:
        """Refuse, before allocating, parameters that cannot fit: training holds each parameter
        about six times (value, gradient, two Adam moments, step, a temporary)."""
        from .io import check_memory

        n = 0
        for d in range(1, len(self.sizes)):
            n += self.sizes[d] * (1 + sum(self.sizes[s] for s, _ in self._dense_in[d]))
            n += sum(self.sizes[s] * self.sizes[d] for s, k in self._skip_in[d] if k is not None)
        check_memory(6 * n * self._dt.itemsize, f"sizes {self.sizes}: {n:,} parameters",
                     "use smaller populations", NetworkError, " to train")  # fmt: skip

    def _require_params(self) -> None:
        if not hasattr(self, "params_"):
            raise NetworkError("network is not trained: call fit() or initialize() first")

    # ------------------------------------------------------------------ data checks
    def _check_X(self, X: Any) -> np.ndarray:
        try:
            X = np.asarray(X, dtype=self._dt)
        except (TypeError, ValueError) as exc:
            raise DataError(f"X must be a numeric array: {exc}") from None
        if X.ndim != 2 or X.shape[1] != self.sizes[0]:
            raise DataError(
                f"X has shape {X.shape}; this network expects (n_samples, {self.sizes[0]})"
            )
        if X.shape[0] == 0:
            raise DataError("X has no samples")
        if not np.all(np.isfinite(X)):
            raise DataError("X contains NaN or infinite values")
        return X

    def _check_y(self, y: Any, n: int) -> np.ndarray:
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != n:
            raise DataError(f"y has shape {y.shape}; expected ({n},) labels, one per row of X")
        if y.dtype.kind == "f":
            if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
                raise DataError("labels y must be integers")
        elif y.dtype.kind not in "iu":
            raise DataError(f"labels y must be integers, got dtype {y.dtype}")
        y = y.astype(np.int64)
        k = self.sizes[-1]
        if y.min() < 0 or y.max() >= k:
            raise DataError(f"labels must lie in [0, {k - 1}] (output size {k}); "
                            f"got range [{y.min()}, {y.max()}]")  # fmt: skip
        return y

    def targets_for(self, y: np.ndarray) -> np.ndarray:
        """Target matrix ``(n, k)`` for labels ``y``: one-hot scaled to ``targets=(low, high)``;
        for ``squared_error`` mapped into the activation's range ``lo + t*(hi - lo)`` where it is
        finite (for a range with only a finite lower bound: ``lo + t``)."""
        return self._target_rows[y]

    def _target_table(self) -> np.ndarray:
        """Row c: the target vector of class c (see :meth:`targets_for`)."""
        low, high = self.targets
        k = self.sizes[-1]
        t = np.full((k, k), low, dtype=self._dt)
        t[np.arange(k), np.arange(k)] = high
        if self.loss == "squared_error":
            blo, bhi = (float(b) for b in self._act.bounds)
            if np.isfinite(blo) and np.isfinite(bhi):
                t = blo + t * (bhi - blo)
            elif np.isfinite(blo):
                t = blo + t
        return t.astype(self._dt, copy=False)

    # ------------------------------------------------------------------ engine
    def _g(self, p: int, z: np.ndarray) -> np.ndarray:
        if p == len(self.sizes) - 1 and self._linear_out:
            return z
        return np.asarray(self._act(z), dtype=self._dt)

    def _forward(self, X: np.ndarray, params: dict[str, np.ndarray]) -> dict:
        """Run the dynamics; returns the cache ``{"h": [t][p], "z": [t][p]}`` for BPTT.

        ``h[t][p]`` is population p's activity after step t (t = 0 is the initial state), ``z``
        its input current and ``g`` = g(z) (before skips and leak). The backward pass adds
        ``gp[p]`` = g'(z_p(T)) (for the diagnostics).
        """
        L, T, a = len(self.sizes), self._T, self._a
        n = X.shape[0]
        # h(0) = 0; an acyclic sweep never reads the previous step, so it skips the zeros
        h_prev: list[Any] = [X] + ([np.zeros((n, s), self._dt) for s in self.sizes[1:]]
                                   if T > 1 or self.has_feedback else [None] * (L - 1))  # fmt: skip
        hs, zs, gs = [h_prev], [None], [None]
        for _ in range(T):
            h: list[Any] = [X] + [None] * (L - 1)
            z_t: list[Any] = [None] * L
            g_t: list[Any] = [None] * L
            for p in range(1, L):
                z = params[f"b{p}"]
                for s, key in self._dense_in[p]:
                    # forward projections read this step's activity, feedback the previous step's
                    z = z + (h[s] if s < p else h_prev[s]) @ params[key]
                u = g_t[p] = self._g(p, z)
                for s, key in self._skip_in[p]:
                    u = u + (h[s] if key is None else h[s] @ params[key])
                h[p] = u if a == 1.0 else (1 - a) * h_prev[p] + a * u
                z_t[p] = z
            hs.append(h)
            zs.append(z_t)
            gs.append(g_t)
            h_prev = h
        return {"h": hs, "z": zs, "g": gs}

    def _backward(self, cache: dict, dy: np.ndarray, params: dict[str, np.ndarray],
                  offset: float = 0.0) -> dict[str, np.ndarray]:  # fmt: skip
        """Gradients of the loss given ``dy = dL/dh_out(T)``, by backpropagation through time."""
        L, T, a = len(self.sizes), self._T, self._a
        hs, zs = cache["h"], cache["z"]
        grads: dict[str, np.ndarray] = {}
        cache["gp"] = gp_last = [None] * L

        def acc(key: str, v: np.ndarray) -> None:
            grads[key] = v if key not in grads else grads[key] + v

        # dh[t][p]: adjoint of h_p(t). Every contribution to dh[t][p] comes from a population
        # processed earlier in this reverse sweep (later step, or same step and higher index).
        dh: list[list[Any]] = [[None] * L for _ in range(T + 1)]
        dh[T][L - 1] = dy

        def add(t: int, p: int, v: np.ndarray) -> None:
            if p == 0 or t == 0:  # the input and the initial state are constants
                return
            dh[t][p] = v if dh[t][p] is None else dh[t][p] + v

        for t in range(T, 0, -1):
            for p in range(L - 1, 0, -1):
                d = dh[t][p]
                if d is None:
                    continue
                if a == 1.0:
                    du = d
                else:
                    du = a * d
                    add(t - 1, p, (1 - a) * d)  # leak: h_p(t) = (1-a) h_p(t-1) + ...
                for s, key in self._skip_in[p]:
                    if key is None:
                        add(t, s, du)
                    else:
                        acc(key, hs[t][s].T @ du)
                        add(t, s, du @ params[key].T)
                if p == L - 1 and self._linear_out:
                    dz = du
                else:
                    gp = np.asarray(self._act.derivative(zs[t][p]), dtype=self._dt)
                    if t == T:
                        gp_last[p] = gp
                    dz = du * (gp + offset) if offset else du * gp
                acc(f"b{p}", dz.sum(axis=0))
                for s, key in self._dense_in[p]:
                    ts = t if s < p else t - 1
                    acc(key, hs[ts][s].T @ dz)
                    add(ts, s, dz @ params[key].T)
        for k, v in params.items():  # parameters the loss does not reach (e.g. dead paths)
            if k not in grads:
                grads[k] = np.zeros_like(v)
        return grads

    def loss_and_grads(self, X: np.ndarray, y: np.ndarray, params: dict[str, np.ndarray] | None = None,
                       offset: float | None = None) -> tuple[float, dict[str, np.ndarray], dict]:  # fmt: skip
        """Mean loss (plus the L2 term), its gradients and the forward cache on a batch."""
        return self._loss_and_grads(X, y, params, offset, l2_value=True)

    def _loss_and_grads(self, X: np.ndarray, y: np.ndarray, params: dict[str, np.ndarray] | None,
                        offset: float | None, l2_value: bool) -> tuple[float, dict, dict]:  # fmt: skip
        """:meth:`loss_and_grads`; without ``l2_value`` the returned loss leaves out the L2 term
        (training records the data loss only; the gradients always include it)."""
        params = self.params_ if params is None else params
        cache = self._forward(X, params)
        out = cache["h"][-1][-1]
        loss, dy = self._loss.value_and_grad(out, self.targets_for(y))
        cache["data_loss"] = loss
        grads = self._backward(cache, dy.astype(self._dt, copy=False), params,
                               self.derivative_offset if offset is None else offset)  # fmt: skip
        if self.l2:
            for k, w in params.items():
                if k[0] in "WP":
                    if l2_value:
                        loss += 0.5 * self.l2 * float((w * w).sum())
                    grads[k] += self.l2 * w
        return loss, grads, cache

    def gradient_norms(self, X: Any, y: Any) -> dict[str, float]:
        """Norm of the exact gradient (no derivative offset) of every population's incoming
        parameters on the batch ``(X, y)``, keyed by population name (``h1``, ..., ``out``)."""
        self._require_params()
        X = self._check_X(X)
        y = self._check_y(y, X.shape[0])
        _, grads, _ = self.loss_and_grads(X, y, offset=0.0)
        return self._pop_norms(grads)

    def _pop_norms(self, grads: dict[str, np.ndarray]) -> dict[str, float]:
        sq = [0.0] * len(self.sizes)
        for k, g in grads.items():
            target = int(k[1:]) if k[0] == "b" else int(k.split("_")[1])
            sq[target] += float(np.vdot(g, g))
        return {self.population_names[p]: float(np.sqrt(sq[p])) for p in range(1, len(self.sizes))}

    # ------------------------------------------------------------------ prediction
    def forward(self, X: Any) -> np.ndarray:
        """Output population activity ``h_out(T)``, shape ``(n, sizes[-1])`` (logits for the
        cross-entropy losses)."""
        self._require_params()
        X = self._check_X(X)
        chunk = 4096
        return np.concatenate([self._forward(X[i:i + chunk], self.params_)["h"][-1][-1]
                               for i in range(0, X.shape[0], chunk)])  # fmt: skip

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class scores ``(n, k)``: softmax / logistic probabilities, or ``g`` for squared error."""
        return self._loss.link(self.forward(X))

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels ``(n,)``: the most active output unit."""
        return np.argmax(self.forward(X), axis=1)

    def score(self, X: Any, y: Any) -> float:
        """Accuracy on ``(X, y)`` (scikit-learn's ``score``)."""
        return self.evaluate(X, y)["accuracy"]

    def evaluate(self, X: Any, y: Any) -> dict[str, float]:
        """``{"accuracy": fraction correct, "loss": mean loss without the L2 term}``."""
        self._require_params()
        X = self._check_X(X)
        y = self._check_y(y, X.shape[0])
        out = self.forward(X)
        return {"accuracy": float(np.mean(np.argmax(out, axis=1) == y)),
                "loss": self._loss.value(out, self.targets_for(y))}  # fmt: skip

    # ------------------------------------------------------------------ training
    def _split(self, y: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Stratified split: indices (train, validation), ``validation_fraction`` of each class."""
        val = []
        for c in np.unique(y):
            idx = rng.permutation(np.flatnonzero(y == c))
            val.append(idx[: int(round(self.validation_fraction * idx.size))])
        val_idx = np.sort(np.concatenate(val))
        train_idx = np.setdiff1d(np.arange(y.size), val_idx)
        if val_idx.size == 0 or train_idx.size == 0:
            raise DataError("validation_fraction leaves an empty training or validation set")
        return train_idx, val_idx

    def fit(self, X: Any, y: Any, epochs: int = 200, *, warm_start: bool = False,
            callback: Callable[[int, dict], Any] | None = None) -> History:  # fmt: skip
        """Train on ``X`` ``(n, sizes[0])`` and integer labels ``y`` ``(n,)`` until converged.

        Training stops when the monitored loss (training loss, or validation loss with
        ``early_stopping``) has not improved by ``tol`` for ``patience`` epochs, or after
        ``epochs`` epochs (the cap; scikit-learn's ``max_iter``, 200 as there); the History's
        ``stop_reason`` says which. Re-initialises the parameters unless ``warm_start``.
        ``callback(epoch, record)`` is called after each epoch with that epoch's diagnostics
        (a dict). Returns the :class:`History` (also kept as ``history_``).

        Raises :class:`NetworkError` when training diverges (a non-finite loss, or an epoch's
        loss above ``DIVERGENCE_FACTOR`` times the loss before training); the parameters are
        then discarded, so that a diverged network cannot be saved or used.
        """
        X = self._check_X(X)
        y = self._check_y(y, X.shape[0])
        try:
            cap = _whole(epochs, "epochs")
        except NetworkError:
            cap = 0
        if cap < 1:
            raise NetworkError(f"epochs must be an integer >= 1, got {epochs!r}")
        _warn_if_flagged(self._act)
        if not (warm_start and hasattr(self, "params_")):
            self.initialize()
        rng = self._rng if hasattr(self, "_rng") else np.random.default_rng(self.seed)
        Xv = yv = None
        if self.validation_fraction > 0:
            tr, va = self._split(y, rng)
            X, y, Xv, yv = X[tr], y[tr], X[va], y[va]
        opt = make_optimizer(self.optimizer, self.learning_rate, self.momentum)
        hist = History(grad_norm={name: [] for name in self.population_names[1:]})
        self.history_ = hist
        limit = DIVERGENCE_FACTOR * max(self.evaluate(X, y)["loss"], 0.1)
        best, best_params, wait = np.inf, None, 0
        for epoch in range(1, cap + 1):
            # overflow is divergence, and the epoch reports it as such (no NumPy warnings)
            with np.errstate(over="ignore", invalid="ignore"):
                self._epoch(X, y, rng, opt, hist, limit, epoch)
            monitor = hist.loss[-1]
            if Xv is not None:
                ev = self.evaluate(Xv, yv)
                hist.val_loss.append(ev["loss"])
                hist.val_accuracy.append(ev["accuracy"])
                if self.early_stopping:
                    monitor = ev["loss"]
            if monitor < best - self.tol:
                best, wait, hist.best_epoch = monitor, 0, epoch
                if self.early_stopping:
                    best_params = {k: v.copy() for k, v in self.params_.items()}
            else:
                wait += 1
            if callback is not None:
                callback(epoch, self._record(hist))
            if self.patience is not None and wait >= self.patience:
                hist.stop_reason = "early_stopping" if self.early_stopping else "converged"
                break
        else:
            hist.stop_reason = "max_epochs"
        if self.early_stopping and best_params is not None:
            self.params_ = best_params
        return hist

    def _diverged(self, epoch: int, loss: float, limit: float, what: str = "") -> NoReturn:
        del self.params_
        lr = self.learning_rate if self.learning_rate is not None else "default"
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

    def _epoch(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator, opt: Any,
               hist: History, limit: float, epoch: int) -> None:  # fmt: skip
        """One pass over ``(X, y)`` in shuffled minibatches; appends the epoch's diagnostics."""
        t0 = time.perf_counter()
        L, n, bs = len(self.sizes), X.shape[0], self.batch_size
        hidden = list(range(1, L - 1)) + ([] if self._linear_out else [L - 1])
        blo, bhi = (float(b) for b in self._act.bounds)
        bounded = np.isfinite(blo) and np.isfinite(bhi)
        margin = _SATURATION_MARGIN * (bhi - blo) if bounded else 0.0
        order = rng.permutation(n)
        tot_loss = correct = 0.0
        norms = np.zeros(L - 1)
        sat = units = nb = 0
        gp_max = {p: np.zeros(self.sizes[p]) for p in hidden}  # largest |g'| seen, per unit
        for i in range(0, n, bs):
            idx = order[i : i + bs]
            xb, yb = X[idx], y[idx]
            _, grads, cache = self._loss_and_grads(xb, yb, None, None, l2_value=False)
            if not np.isfinite(cache["data_loss"]):
                self._diverged(epoch, cache["data_loss"], limit)
            out = cache["h"][-1][-1]
            tot_loss += cache["data_loss"] * idx.size
            correct += int((out.argmax(axis=1) == yb).sum())
            norms += list(self._pop_norms(grads).values())
            # saturation / dead units from the forward pass already done (no extra pass)
            gT, gpT = cache["g"][-1], cache["gp"]
            for p in hidden:
                if bounded:
                    gz = gT[p]
                    sat += int(np.count_nonzero((gz < blo + margin) | (gz > bhi - margin)))
                    units += gz.size
                if gpT[p] is not None:
                    np.maximum(gp_max[p], np.abs(gpT[p]).max(axis=0), out=gp_max[p])
            opt.step(self.params_, grads)
            nb += 1
        hist.loss.append(tot_loss / n)
        if not hist.loss[-1] <= limit:
            self._diverged(epoch, hist.loss[-1], limit)
        for k, v in self.params_.items():  # the epoch's last step is not in its loss
            if not np.isfinite(v).all():
                self._diverged(epoch, math.nan, limit, f"parameter {k} became NaN or inf")
        hist.accuracy.append(correct / n)
        for name, v in zip(self.population_names[1:], norms / nb, strict=True):
            hist.grad_norm[name].append(float(v))
        hist.saturated_fraction.append(sat / units if bounded and units else None)
        alive = [m > _DEAD_EPS for m in gp_max.values()]
        n_hidden = sum(a.size for a in alive)
        hist.dead_fraction.append(
            float(sum(int((~a).sum()) for a in alive) / n_hidden) if n_hidden else 0.0
        )
        hist.epoch_time_s.append(time.perf_counter() - t0)

    @staticmethod
    def _record(hist: History) -> dict:
        rec = {k: v[-1] for k, v in hist.to_dict().items() if isinstance(v, list) and v}
        rec["grad_norm"] = {k: v[-1] for k, v in hist.grad_norm.items()}
        return rec

    # ------------------------------------------------------------------ persistence
    def get_params(self) -> dict[str, Any]:
        """Constructor arguments (scikit-learn style), JSON-able except ``activation``."""
        return {"sizes": list(self.sizes), "activation": self.activation,
                "connectivity": self.connectivity if isinstance(self.connectivity, str)
                else [asdict(p) for p in self.projections],
                "loss": self.loss, "optimizer": self.optimizer,
                "learning_rate": self.learning_rate, "momentum": self.momentum,
                "batch_size": self.batch_size, "l2": self.l2,
                "validation_fraction": self.validation_fraction,
                "early_stopping": self.early_stopping, "patience": self.patience, "tol": self.tol,
                "dtype": self.dtype, "init_std": self.init_std, "targets": list(self.targets),
                "derivative_offset": self.derivative_offset, "steps": self.steps,
                "alpha": self.alpha, "seed": self.seed}  # fmt: skip

    def architecture(self) -> dict:
        """The JSON stored inside a saved ``.npz``: arguments, projections and the activation."""
        args = self.get_params()
        act = self._act.to_dict() if hasattr(self._act, "to_dict") else None
        if act is None:
            raise NetworkError("the activation has no to_dict(); it cannot be saved")
        args["activation"] = act
        from .io import jsonable, provenance

        return {"kind": "rate_network", "schema": SCHEMA, "args": args,
                "projections": [asdict(p) for p in self.projections],
                "populations": self.population_names, "provenance": provenance(),
                "history": jsonable(self.history_.to_dict()) if hasattr(self, "history_")
                else None}  # fmt: skip

    def save(self, path: str | Path) -> Path:
        """Write parameters and architecture JSON to ``path`` (``.npz``, no pickle), atomically."""
        self._require_params()
        from .io import atomic_write

        arrays = {f"param.{k}": v for k, v in self.params_.items()}
        arrays["architecture"] = np.array(json.dumps(self.architecture(), allow_nan=False))
        return atomic_write(path, lambda f: np.savez(f, **arrays), binary=True)

    @classmethod
    def load(cls, path: str | Path) -> RateNetwork:
        """Read a network written by :meth:`save`; errors are :class:`NetworkError`."""
        path = Path(path)
        if not path.is_file():
            raise NetworkError(f"{path}: no such network file")
        with open(path, "rb") as f:
            magic = f.read(4)
        if magic != b"PK\x03\x04":  # every .npz is a zip archive
            raise NetworkError(f"{path}: not a biorate network file (not an .npz archive)")
        try:
            with np.load(path, allow_pickle=False) as f:
                arrays = {k: f[k] for k in f.files}
            arch = json.loads(str(arrays.pop("architecture")[()]))
        except NetworkError:
            raise
        except Exception as exc:  # zip, npy header, JSON: all mean "corrupt file"
            raise NetworkError(f"{path}: not a readable biorate network file "
                               f"({type(exc).__name__}: {exc})") from None  # fmt: skip
        if not isinstance(arch, dict) or arch.get("kind") != "rate_network":
            raise NetworkError(f"{path}: not a rate network file (kind {arch.get('kind')!r})")
        if arch.get("schema") != SCHEMA:
            raise NetworkError(f"{path}: network schema {arch.get('schema')} is not supported")
        try:
            args = _upgrade_args(dict(arch["args"]))
            net = cls(**args)
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, NetworkError):
                raise NetworkError(f"{path}: {exc}") from None
            raise NetworkError(f"{path}: malformed architecture ({exc})") from None
        params = {}
        ref = net.initialize().params_
        for k, v in ref.items():
            a = arrays.get(f"param.{k}")
            if a is None or a.shape != v.shape:
                raise NetworkError(f"{path}: parameter {k} missing or of wrong shape")
            if not np.all(np.isfinite(a)):
                raise NetworkError(f"{path}: parameter {k} contains NaN or inf")
            params[k] = a.astype(net._dt)
        net.params_ = params
        hist = arch.get("history")
        if isinstance(hist, dict):
            fields = set(History.__dataclass_fields__)
            net.history_ = History(**{k: v for k, v in hist.items() if k in fields})
        return net

    def __repr__(self) -> str:
        conn = self.connectivity if isinstance(self.connectivity, str) else "custom"
        name = getattr(self._act, "name", type(self._act).__name__)
        return f"RateNetwork({self.sizes}, activation={name!r}, connectivity={conn!r})"
