"""An :class:`~biorate.activation.Activation` as a PyTorch module (:meth:`Activation.to_torch`).

The one module of biorate that imports torch (an import-linter contract in pyproject.toml), and only
when :meth:`~biorate.activation.Activation.to_torch` is first called: ``import biorate`` never
loads it. Value and gradient are the activation's own NumPy ``__call__`` and analytic
``derivative``, computed in float64 on the CPU, so a module gives exactly the numbers the rate
network gives (``__call__``'s values bit for bit, at float64).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from .errors import DataError

__all__ = ["ActivationModule"]


def _host(t: torch.Tensor) -> np.ndarray:
    """``t`` as a NumPy array on the CPU: floating types (float16 and bfloat16 included) as float64;
    integers as they are; booleans and complex numbers as they are, for the activation to refuse."""
    t = t.detach().cpu()
    return (t.to(torch.float64) if t.is_floating_point() else t).numpy()


def _back(a: np.ndarray, like: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    # the cast on the CPU first: some devices (MPS) have no float64
    return torch.as_tensor(a).reshape(like.shape).to(dtype).to(like.device)


class _ActivationFunction(torch.autograd.Function):
    """g(z) forward; backward multiplies by the analytic g'(z) (once differentiable)."""

    @staticmethod
    def forward(ctx, z, act, dtype):
        ctx.save_for_backward(z)
        ctx.act = act
        return _back(act(_host(z)), z, dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        (z,) = ctx.saved_tensors
        return _back(_host(grad) * ctx.act.derivative(_host(z)), z, z.dtype), None, None


class ActivationModule(torch.nn.Module):
    """``g(z)`` of an activation, elementwise, as a parameter-free ``torch.nn.Module``.

    The output has ``dtype`` when one was given to :meth:`Activation.to_torch`, else the input's
    (an integer input gives torch's default dtype); the gradient has the input's dtype. Either is
    computed in float64 and rounded once (no parameters: ``.to(dtype)`` changes nothing). Inputs on
    any device are copied to the CPU and back.
    """

    def __init__(self, activation, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise DataError(
                f"to_torch: dtype must be a floating torch.dtype or None, got {dtype!r}"
            )
        self.activation = activation
        self.out_dtype = dtype

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if not isinstance(z, torch.Tensor):
            raise DataError(f"an activation module takes a torch.Tensor, got {type(z).__name__}")
        dtype = self.out_dtype or (z.dtype if z.is_floating_point() else torch.get_default_dtype())
        return _ActivationFunction.apply(z, self.activation, dtype)

    def extra_repr(self) -> str:
        return self.activation.name or self.activation.form
