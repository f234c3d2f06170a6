"""``RateNetwork``: a scikit-learn style facade over the graph, the dynamics and the training loop.

It reads like scikit-learn's MLP: the constructor stores and checks the arguments; ``fit`` checks
the data, initialises (:meth:`RateNetwork.initialize`) and runs the minibatch loop
(:func:`~biorate.network.train.fit_stochastic`), which asks :meth:`RateNetwork._backprop` for the
loss and gradients of a batch: the forward and backward passes of
:mod:`biorate.network.dynamics`. Persistence is :mod:`biorate.network.persist`.

Output. For the cross-entropy losses the output population is linear (its ``g`` is the identity)
and the loss applies its own link (softmax, logistic); for ``squared_error`` the output applies the
activation ``g`` and targets are placed inside the activation's range (see
:meth:`RateNetwork.targets_for`).

Shapes: inputs ``X`` are ``(n_samples, sizes[0])`` floats, labels ``y`` are ``(n_samples,)``
integers in ``[0, sizes[-1])``. All quantities here are unit free (rates are normalised by the
activation's ``y_scale``; see the activation JSON).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..datasets import check_classes
from ..errors import DataError, NetworkError
from ..io import check_memory
from . import dynamics, equilibrium, persist
from .checks import (
    TRAINING_MODES,
    check_dynamics,
    check_numbers,
    check_training,
    check_X,
    check_y,
    choice,
    estimate_memory,
    flag,
    integer,
    pair,
    population_sizes,
    real,
    resolve_activation,
    warn_if_flagged,
    warn_if_still,
    whole,
)
from .graph import Graph, build_projections
from .inference import MAX_STEPS, Inference
from .init import initial_params, midpoint
from .losses import LOSSES, get_loss
from .optim import DEFAULT_BATCH_SIZE, OPTIMIZERS, default_learning_rate, make_optimizer
from .train import History, fit_stochastic

__all__ = ["RateNetwork", "midpoint", "MAX_EPOCHS", "MAX_STEPS"]

# the largest epoch cap accepted: far beyond convergence on any dataset (digits converges in 60-200
# epochs), far below work that would run for days
MAX_EPOCHS = 100_000


class RateNetwork(Inference):
    """A rate-coded network of populations and projections, trained by backprop / BPTT.

    Parameters
    ----------
    sizes : population sizes, input first and output (number of classes) last, e.g.
        ``[64, 64, 64, 10]``.
    activation : the hidden units' ``g``: a built-in name (``"sigmoid"``, ``"tanh"``, ``"relu"``,
        ``"leaky_relu"``, ``"softplus"``, ``"elu"``, ``"gelu"``, ``"swish"``; ``"prelu"`` and
        ``"swish_learned"`` learn their parameter per unit, ``"maxout"`` takes the largest of k
        pieces), a path to a fitted activation JSON, or an Activation.
    connectivity : ``"feedforward"``, ``"residual"``, ``"feedback"`` or an explicit projection list
        (see :mod:`biorate.network.graph`).
    loss : ``"softmax_ce"`` (default), ``"sigmoid_ce"`` or ``"squared_error"``.
    optimizer, learning_rate, momentum : ``"adam"`` (``None``: lr 5e-3, 1e-3 for a graph with
        feedback) or ``"sgd"`` (lr 0.1, momentum).
    batch_size : minibatch size (``None``: 256, the pair with Adam 5e-3 measured best on digits,
        see ``benchmarks/train_defaults.py``; 32 for a graph with feedback, whose recurrent
        dynamics trained at batch 256 lost accuracy, see :mod:`biorate.network.optim`);
        :attr:`training_batch_size` and :attr:`training_learning_rate` say what training uses. l2 : weight decay coefficient (the minibatch's mean
        loss += l2/2 * sum W^2). The default 1e-4 has the value of scikit-learn's MLP ``alpha``
        but not its meaning: scikit-learn adds alpha/(2 * batch size) * sum W^2, so at batch 256
        this penalty is 256 times scikit-learn's (``l2=alpha/batch_size`` reproduces it).
    validation_fraction : fraction of the training set held out (stratified) for validation.
    patience, tol : training runs until converged: it stops once the monitored loss has not
        improved by ``tol`` for ``patience`` epochs (scikit-learn's ``n_iter_no_change`` and
        ``tol``), or at the ``epochs`` cap of :meth:`fit`. ``patience=None`` runs every epoch.
    early_stopping : monitor the validation loss instead of the training loss (needs
        ``validation_fraction > 0``) and restore the weights of its best epoch.
    dtype : ``"float64"`` or ``"float32"``.
    init_std : ``None`` (default) draws weights with std sqrt(gain/fan-in): gain 1 (LeCun et al.
        1998, "Efficient backprop") except for rectifiers, 2 for relu (He et al. 2015; see
        :attr:`~biorate.activation.Activation.init_gain`); a float uses that fixed std (e.g. 1.0,
        the naive choice).
    targets : (low, high) target values for ``sigmoid_ce``/``squared_error``; (0.15, 0.85) keeps
        sigmoid outputs out of saturation.
    derivative_offset : constant added to g' in the backward pass (Fahlman 1988, ~0.1), so that
        saturated units still pass gradient. 0 gives the exact gradient.
    steps, alpha : time steps T and alpha = dt/tau of the rate dynamics (graphs with feedback; see
        :mod:`biorate.network.dynamics`).
    training : how a graph with feedback is trained and run: ``"bptt"`` (default; T steps from
        rest, backpropagation through time) or ``"fixed_point"`` (run to the fixed point, the
        state a spiking deployment settles to, and differentiate it implicitly; see
        :mod:`biorate.network.equilibrium`). Acyclic graphs are the same either way.
    fixed_point_tol, fixed_point_max_iter : the fixed point's convergence test: residual
        ``max |h(t) - h(t-1)|/alpha`` <= tol within max_iter steps (also for the adjoint).
    max_loop_gain : the safeguard of fixed-point training: feedback matrices are scaled down
        after a step whose batch shows a loop gain above this (or did not converge).
    seed : seeds initialisation, shuffling and the validation split.

    Unlike scikit-learn, arguments are validated here (an unknown activation fails at once).
    Learned attributes end in ``_``: ``params_`` (dict name -> array), ``history_``; ``graph_``
    (the :class:`~biorate.network.graph.Graph`) and ``activation_`` are resolved from the arguments.
    """

    def __init__(self, sizes: Sequence[int], activation: Any = "sigmoid",
                 connectivity: str | Sequence[Any] = "feedforward", *, loss: str = "softmax_ce",
                 optimizer: str = "adam", learning_rate: float | None = None,
                 momentum: float = 0.9, batch_size: int | None = None, l2: float = 1e-4,
                 validation_fraction: float = 0.0, early_stopping: bool = False,
                 patience: int | None = 10, tol: float = 1e-4, dtype: str = "float64",
                 init_std: float | None = None, targets: tuple[float, float] = (0.0, 1.0),
                 derivative_offset: float = 0.0, steps: int = 10, alpha: float = 0.5,
                 seed: int | None = None, training: str = "bptt", fixed_point_tol: float = 1e-6,
                 fixed_point_max_iter: int = 500, max_loop_gain: float = 0.9) -> None:  # fmt: skip
        self.sizes = population_sizes(sizes)
        self.activation = activation
        self.connectivity = connectivity
        self.loss, self.optimizer = loss, optimizer
        self.learning_rate = real(learning_rate, "learning_rate", none=True)
        self.momentum, self.l2 = real(momentum, "momentum"), real(l2, "l2")
        self.batch_size = integer(batch_size, "batch_size", 1, none=True)
        self.validation_fraction = real(validation_fraction, "validation_fraction")
        self.early_stopping = flag(early_stopping, "early_stopping")
        self.patience = integer(patience, "patience", none=True)
        self.tol, self.dtype = real(tol, "tol"), str(dtype)
        self.init_std = real(init_std, "init_std", none=True)
        self.targets = pair(targets, "targets")
        self.derivative_offset = real(derivative_offset, "derivative_offset")
        self.seed = integer(seed, "seed", 0, none=True)
        if self.seed is not None and self.seed >= 2**32:  # as the CLI's --seed and deploy's seed
            raise NetworkError(f"seed must be a whole number from 0 to 2**32-1, got "
                               f"{seed!r}"[:120])  # fmt: skip
        self.steps, self.alpha = integer(steps, "steps"), real(alpha, "alpha")
        self.training = training
        self.fixed_point_tol = real(fixed_point_tol, "fixed_point_tol")
        self.fixed_point_max_iter = integer(fixed_point_max_iter, "fixed_point_max_iter", 1)
        self.max_loop_gain = real(max_loop_gain, "max_loop_gain")
        self._resolve()

    # ------------------------------------------------------------------ structure
    def _resolve(self) -> None:
        """Check the arguments and resolve them: dtype, loss, graph, activation, time steps."""
        choice(self.dtype, "dtype", ("float32", "float64"))
        choice(self.loss, "loss", tuple(LOSSES))
        choice(self.optimizer, "optimizer", OPTIMIZERS)
        choice(self.training, "training", TRAINING_MODES)
        self._dt = np.dtype(self.dtype)
        self._loss = get_loss(self.loss)
        make_optimizer(self.optimizer, self.learning_rate, self.momentum)  # validates
        projections = build_projections(self.sizes, self.connectivity)
        self._act = resolve_activation(self.activation)
        self.graph_ = Graph(self.sizes, projections, self._loss.linear_output,
                            getattr(self._act, "learned", ()), getattr(self._act, "pieces", 1))  # fmt: skip
        # None: the defaults of the graph's kind (see the class docstring); the arguments keep
        # None (get_params gives them back as given), the resolved values are private
        kind = "feedback" if self.has_feedback else "acyclic"
        self._batch_size = DEFAULT_BATCH_SIZE[kind] if self.batch_size is None else self.batch_size
        self._learning_rate = (default_learning_rate(self.optimizer, self.has_feedback)
                               if self.learning_rate is None else self.learning_rate)  # fmt: skip
        check_numbers(self)
        check_dynamics(self, self.graph_.has_feedback)
        # an acyclic graph: one sweep is the fixed point
        self._T, self._a = (self.steps, self.alpha) if self.has_feedback else (1, 1.0)
        check_training(self, MAX_STEPS)
        self._check_memory()
        self._target_rows = self._target_table()

    @property
    def _fixed_point(self) -> bool:
        """Whether the dynamics run to their fixed point (fixed-point training with feedback)."""
        return self.training == "fixed_point" and self.has_feedback

    @property
    def projections(self) -> list:
        """The :class:`~biorate.network.graph.Projection` list of the graph."""
        return self.graph_.projections

    @property
    def has_feedback(self) -> bool:
        return self.graph_.has_feedback

    @property
    def population_names(self) -> list[str]:
        """``["in", "h1", ..., "out"]``."""
        return self.graph_.population_names

    @property
    def activation_(self) -> Any:
        """The resolved Activation object used by the hidden populations."""
        return self._act

    @property
    def training_batch_size(self) -> int:
        """The minibatch size training uses: ``batch_size``, or its default for this graph."""
        return self._batch_size

    @property
    def training_learning_rate(self) -> float:
        """The learning rate training uses: ``learning_rate``, or its default for this graph."""
        return self._learning_rate

    @property
    def time_steps(self) -> tuple[int, float]:
        """``(steps, alpha)`` the dynamics run with: ``(1, 1.0)`` for an acyclic graph."""
        return self._T, self._a

    def initialize(self) -> RateNetwork:
        """Draw fresh parameters: weights ~ N(0, std^2) with std = init_std or sqrt(gain/fan-in)
        (fan-in = all dense inputs of the target; gain = the activation's
        :attr:`~biorate.activation.Activation.init_gain`), learned skips ~ N(0, 1/size_source).

        Biases of the linear output are 0; those of populations applying ``g`` start at the
        pre-activation where ``g`` is half-way between its bounds
        (:func:`~biorate.network.init.midpoint`). See :func:`~biorate.network.init.initial_params`."""
        self._check_memory()
        params, self._rng = initial_params(self.graph_, self._act, self.init_std, self.seed)
        self.params_ = {k: v.astype(self._dt) for k, v in params.items()}
        return self

    def check_fit(self, X: Any, y: Any, epochs: int = 200, *,
                  callback: Callable[[int, dict], Any] | None = None) -> tuple:  # fmt: skip
        """What :meth:`fit` checks before it trains, so that a caller can refuse bad input
        before a progress bar appears: the data (shape, values, labels), ``epochs`` (1 to
        ``MAX_EPOCHS``), ``callback`` and the memory a training needs. Returns ``(X, y,
        epochs)`` as fit uses them; raises :class:`NetworkError` or :class:`DataError`."""
        X, y = self.check_labelled(X, y)
        check_classes(y, "labels y")
        try:
            cap = whole(epochs, "epochs")
        except NetworkError:
            cap = 0
        if not 1 <= cap <= MAX_EPOCHS:
            raise NetworkError(f"epochs must be an integer from 1 to {MAX_EPOCHS:,} (the cap; "
                               f"training stops earlier once converged), got {epochs!r}")  # fmt: skip
        if callback is not None and not callable(callback):
            raise NetworkError(f"callback must be callable(epoch, record), got {callback!r}")
        self._check_memory(min(self._batch_size, X.shape[0]))
        return X, y, cap

    def _check_memory(self, rows: int = 0, purpose: str = " to train") -> None:
        """Refuse, before allocating, work that cannot fit (:func:`estimate_memory`: parameters
        six times, the target table, and the states of ``rows`` samples unrolled in time)."""
        need, what, advice = estimate_memory(self, rows)
        check_memory(need, what, advice, NetworkError, purpose)

    def _require_params(self) -> None:
        if not hasattr(self, "params_"):
            raise NetworkError("network is not trained: call fit() or initialize() first")

    # ------------------------------------------------------------------ data
    def check_data(self, X: Any, y: Any = None) -> tuple[np.ndarray, np.ndarray | None]:
        """``(X, y)`` as this network takes them: ``X`` a finite ``(n, sizes[0])`` array of its
        dtype, ``y`` (when given) ``n`` int64 labels in ``[0, sizes[-1])``. Errors are
        :class:`~biorate.errors.DataError`: strings are refused, never converted; a masked
        array with masked entries is refused (its mask would be ignored); and inputs whose
        largest magnitude is outside ``[1e-6, 1e6]`` (:data:`~biorate.network.checks.MIN_INPUT`,
        ``MAX_INPUT``; all zeros pass) are refused rather than warned about: a network learns
        from inputs of scale ~1, and :func:`biorate.deploy` (which checks its data here) would
        turn 1e30 into currents of 1e21 A. :meth:`fit` also needs two classes in ``y``."""
        X = check_X(X, self.sizes[0], self._dt)
        return X, None if y is None else check_y(y, X.shape[0], self.sizes[-1])

    def check_labelled(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`check_data` where the labels are needed (evaluate, score, fit, gradients):
        ``y`` None is refused as a :class:`~biorate.errors.DataError`."""
        if y is None:
            raise DataError("labels y are needed here (got None): one integer class per row of X")
        X, checked = self.check_data(X, y)
        assert checked is not None
        return X, checked

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

    # ------------------------------------------------------------------ the dynamics
    def _forward(self, X: np.ndarray, params: dict[str, np.ndarray]) -> dict:
        """The forward pass's cache (:func:`biorate.network.dynamics.forward`, or the fixed point
        with its diagnostics, :func:`biorate.network.equilibrium.solve`)."""
        if self._fixed_point:
            return equilibrium.solve(self.graph_, params, self._act, X, self._a,
                                     self.fixed_point_tol, self.fixed_point_max_iter, self._dt)  # fmt: skip
        return dynamics.forward(self.graph_, params, self._act, X, self._T, self._a, self._dt)

    def _backprop(self, X: np.ndarray, y: np.ndarray, params: dict[str, np.ndarray] | None = None,
                  offset: float | None = None, l2_value: bool = False) -> tuple[float, dict, dict]:  # fmt: skip
        """Loss, gradients and forward cache on a batch; without ``l2_value`` the returned loss
        leaves out the L2 term (training records the data loss only; the gradients always
        include it). ``cache["data_loss"]`` is the loss without it."""
        params = self.params_ if params is None else params
        cache = self._forward(X, params)
        out = cache["h"][-1][-1]
        loss, dy = self._loss.value_and_grad(out, self.targets_for(y))
        cache["data_loss"] = loss
        offset = self.derivative_offset if offset is None else offset
        dy = dy.astype(self._dt, copy=False)
        if self._fixed_point:
            grads = equilibrium.backward(self.graph_, params, self._act, cache, dy, self._a, offset,
                                         self.fixed_point_tol, self.fixed_point_max_iter, self._dt)  # fmt: skip
        else:
            grads = dynamics.backward(self.graph_, params, self._act, cache, dy, self._a, offset,
                                      self._dt)  # fmt: skip
        if self.l2:
            for k, w in params.items():
                if k in self.graph_.weights:
                    if l2_value:
                        loss += 0.5 * self.l2 * float((w * w).sum())
                    grads[k] += self.l2 * w
        return loss, grads, cache

    def loss_and_grads(self, X: np.ndarray, y: np.ndarray, params: dict[str, np.ndarray] | None = None,
                       offset: float | None = None) -> tuple[float, dict[str, np.ndarray], dict]:  # fmt: skip
        """Mean loss (plus the L2 term), its gradients and the forward cache on a batch (``X``
        and ``y`` checked as :meth:`check_data` does)."""
        X, y = self.check_labelled(X, y)
        return self._backprop(X, y, params, offset, l2_value=True)

    def _after_step(self, cache: dict) -> float:
        """The training loop calls this after each optimizer step with the batch's cache: the
        safeguard of fixed-point training (:func:`biorate.network.equilibrium.shrink_feedback`);
        returns the factor the feedback matrices were scaled by (1.0: none)."""
        if not self._fixed_point:
            return 1.0
        gain = equilibrium.loop_gain(cache["fp"], self._a)
        return equilibrium.shrink_feedback(self.graph_, self.params_, gain, self.max_loop_gain)

    def gradient_norms(self, X: Any, y: Any) -> dict[str, float]:
        """Norm of the exact gradient (no derivative offset) of every population's incoming
        parameters on the batch ``(X, y)``, keyed by population name (``h1``, ..., ``out``)."""
        self._require_params()
        X, y = self.check_labelled(X, y)
        _, grads, _ = self.loss_and_grads(X, y, offset=0.0)
        return self.graph_.population_norms(grads)

    # ------------------------------------------------------------------ training
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
        X, y, cap = self.check_fit(X, y, epochs, callback=callback)
        warn_if_flagged(self._act)
        warn_if_still(self)
        if not (warm_start and hasattr(self, "params_")):
            self.initialize()
        rng = self._rng if hasattr(self, "_rng") else np.random.default_rng(self.seed)
        self._fitting = True  # training records unconverged fixed points in its history instead
        try:
            return fit_stochastic(self, X, y, cap, rng, callback)
        finally:
            self._fitting = False

    # ------------------------------------------------------------------ persistence
    def get_params(self) -> dict[str, Any]:
        """Constructor arguments (scikit-learn style), JSON-able except ``activation``."""
        return persist.get_params(self)

    def architecture(self) -> dict:
        """The JSON stored inside a saved ``.npz``: arguments, projections and the activation."""
        return persist.architecture(self)

    def save(self, path: str | Path) -> Path:
        """Write parameters and architecture JSON to ``path`` (``.npz``, no pickle), atomically."""
        self._require_params()
        return persist.save(self, path)

    @classmethod
    def load(cls, path: str | Path) -> RateNetwork:
        """Read a network written by :meth:`save`; errors are :class:`NetworkError`."""
        return persist.load(cls, path)

    def __repr__(self) -> str:
        conn = self.connectivity if isinstance(self.connectivity, str) else "custom"
        extra = ", training='fixed_point'" if self.training == "fixed_point" else ""
        name = getattr(self._act, "name", type(self._act).__name__)
        return f"RateNetwork({self.sizes}, activation={name!r}, connectivity={conn!r}{extra})"
