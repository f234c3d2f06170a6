"""Running a trained rate network: states, outputs, predictions and scores (the inference half of
:class:`~biorate.network.RateNetwork`, which inherits it; training, checks and persistence live
there)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import NetworkError
from . import dynamics, equilibrium
from .checks import check_X, whole

__all__ = ["Inference", "MAX_STEPS"]

# the largest number of time steps accepted: far beyond a fixed point (reached in 50-500 steps),
# far below work that would run for days
MAX_STEPS = 100_000


class Inference:
    """Methods of :class:`~biorate.network.RateNetwork` that run it on data (mixed in)."""

    def states(self, X: Any, steps: int | None = None,
               dtype: Any = np.float64) -> tuple[list, list]:  # fmt: skip
        """Input currents ``z`` and activities ``h`` of every population at the last step, lists
        over populations of ``(n, size_p)`` arrays (``z[0]`` is None, ``h[0]`` is ``X``), computed
        in ``dtype`` (float64 by default, whatever the network's dtype; a maxout population's
        ``z`` has its k pieces per unit, ``(n, k*size_p)``). ``steps`` overrides the
        number of time steps of a graph with feedback (e.g. many, to approach its fixed point);
        without it a network trained at its fixed point returns the fixed point."""
        self._require_params()
        if steps is not None:
            steps = whole(steps, "steps")
            if not 1 <= steps <= MAX_STEPS:
                raise NetworkError(f"steps must be from 1 to {MAX_STEPS:,}, got {steps}")
        T = steps if steps is not None and self.has_feedback else self._T
        params = {k: v.astype(dtype) for k, v in self.params_.items()}
        X = check_X(X, self.sizes[0], np.dtype(dtype))
        if self._fixed_point and steps is None:
            cache = equilibrium.solve(self.graph_, params, self._act, X, self._a,
                                      self.fixed_point_tol, self.fixed_point_max_iter, dtype)  # fmt: skip
            self._warn_unconverged([cache["fp"]])
            return cache["z"][-1], cache["h"][-1]
        return dynamics.settle(self.graph_, params, self._act, X, T, self._a, dtype)

    def forward(self, X: Any) -> np.ndarray:
        """Output population activity ``h_out(T)``, shape ``(n, sizes[-1])`` (logits for the
        cross-entropy losses)."""
        self._require_params()
        X, _ = self.check_data(X)
        chunk = 4096
        self._check_memory(min(chunk, X.shape[0]), " to run")
        outs, fps = [], []
        for i in range(0, X.shape[0], chunk):
            cache = self._forward(X[i : i + chunk], self.params_)
            outs.append(cache["h"][-1][-1])
            if self._fixed_point:
                fps.append(cache["fp"])
        if fps and not getattr(self, "_fitting", False):
            self._warn_unconverged(fps)
        return np.concatenate(outs)

    def _warn_unconverged(self, fps: list[dict]) -> None:
        fp = {k: np.concatenate([f[k] for f in fps]) for k in ("converged", "residual")}
        equilibrium.warn_unconverged(fp, self.fixed_point_tol, self.fixed_point_max_iter)

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
        X, y = self.check_labelled(X, y)
        out = self.forward(X)
        return {"accuracy": float(np.mean(np.argmax(out, axis=1) == y)),
                "loss": self._loss.value(out, self.targets_for(y))}  # fmt: skip
