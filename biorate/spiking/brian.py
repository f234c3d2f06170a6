"""Everything biorate does with Brian2 itself, in one place: parameters as Brian2 quantities, the
groups and networks a measurement builds, the code-generation target, fast seeded noise, the run
with its progress bar, and Brian2's errors turned into biorate's.

This module imports Brian2 at the top: it is the simulator side of the lazy boundary. The light
parts of :mod:`biorate.spiking` (:mod:`~biorate.spiking.protocol`) never import it, and ``biorate.spiking`` loads
the measurements (and so this module) on first use.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import os
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ..errors import BiorateError, ModelError, UnitError
from ..models import Model
from ..units import DIMENSIONLESS, parse_quantity
from .protocol import after_brian2_import, encodable_argv, resolve_target

with encodable_argv():  # Brian2's logger copies the command line, as UTF-8, when it is imported
    import brian2.core.network as network_module
    from brian2 import Equations, Network, NeuronGroup, Quantity, prefs, second
    from brian2 import seed as brian_seed
    from brian2.core.base import BrianObjectException
    from brian2.equations.equations import EquationError
    from brian2.parsing.expressions import parse_expression_dimensions
    from brian2.stateupdaters.base import StateUpdateMethod
    from brian2.units.fundamentalunits import DimensionMismatchError, get_or_create_dimension
    from brian2.utils.stringtools import get_identifiers
after_brian2_import()  # Brian2 was imported just above

__all__ = [
    "Network",
    "brian_seed",
    "second",
    "BRIAN_ERRORS",
    "rejected",
    "quantity",
    "namespace",
    "neuron_group",
    "var_dim",
    "expression_dim",
    "codegen_target",
    "fast_normals",
    "run_network",
]

# What Brian2 raises for a model it cannot build (bad equations, units, names, values): building a
# group or network inside ``except BRIAN_ERRORS`` turns it into one line naming the model.
BRIAN_ERRORS: tuple[type[BaseException], ...] = (
    BrianObjectException, DimensionMismatchError, EquationError, SyntaxError, KeyError, ValueError,
    TypeError, AttributeError,
)  # fmt: skip
# ... and what it raises at run time for a model error (code generation, units)
_RUN_ERRORS = (BrianObjectException, DimensionMismatchError, EquationError, SyntaxError, KeyError)


class _OwnObjects(logging.Filter):
    """Drop Brian2's 4-line "is getting deleted, but was never included in a network" warning for
    biorate's own objects (all named ``biorate_*``): they are left unused only when building the
    network failed, and the error that says why follows."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "'biorate_" not in str(record.msg)


logging.getLogger("brian2.core.base.unused_brian_object").addFilter(_OwnObjects())


class _CheckedGroups(logging.Filter):
    """Drop Brian2's "has NaN, very large values" warning for the f-I group and the release
    terminals, whose state :mod:`biorate.spiking` checks itself after the run and refuses in
    one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = str(record.msg)
        return not any(f"{group}'s variable" in text
                       for group in ("biorate_fi_neurons", "biorate_release_terminals"))  # fmt: skip


logging.getLogger("brian2.groups.group.invalid_values").addFilter(_CheckedGroups())
# Brian2's note that its GSL integration is experimental: a model names a GSL method on purpose
# (README: GSL's adaptive steps are exempt from the dt check), and on the numpy target, which
# has no GSL, the note only preceded the one-line error
logging.getLogger("brian2.stateupdaters.GSL").setLevel(logging.ERROR)


def null_for_none_streams() -> None:
    """A null stream for a standard output or error Python left None (a script started with it
    closed, ``>&-``), before Brian2 builds or runs anything: its compiler check flushes both, and
    a progress bar writes to the error stream; a None one made every Cython run fail with
    "'NoneType' object has no attribute 'flush'". (The command line gives the process a null
    device itself; this is for the API.) The null stream stays for the life of the process: put
    back, another thread's run could meet None again."""
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w"))  # noqa: SIM115 - kept open on purpose


@contextlib.contextmanager
def rejected(label: str, error: type[Exception] = ModelError, what: str = "it") -> Iterator[None]:
    """Inside the block, Brian2's errors (:data:`BRIAN_ERRORS`) become ``error("{label}: Brian2
    rejected {what}: {the first 300 characters of Brian2's message}")``."""
    null_for_none_streams()
    try:
        yield
    except BiorateError as exc:
        if str(exc).startswith(label):
            raise
        raise type(exc)(f"{label}: {exc}") from None
    except BRIAN_ERRORS as exc:
        raise error(f"{label}: Brian2 rejected {what}: {_first_line(exc)}") from exc


def quantity(value: Any, dim: tuple) -> Any:
    """A Brian2 Quantity from an SI value (float or array) and a biorate dimension tuple."""
    return Quantity(value, dim=get_or_create_dimension(tuple(float(d) for d in dim)))


def namespace(model: Model) -> dict[str, Any]:
    """The model's parameters as Brian2 quantities, for an explicit ``namespace=`` (names that
    Brian2 reserves, its units' among them, were refused when the model was built:
    :func:`biorate.models.names.check_names`)."""
    return {name: quantity(p.value, p.dim) for name, p in model.params.items()}


def neuron_group(section: Mapping[str, Any], n: int, equations: str, *, threshold: Any,
                 reset: Any, namespace: dict, dt_s: float, name: str,
                 refractory: Any = False) -> Any:  # fmt: skip
    """A NeuronGroup of ``n`` units integrated with the model section's ``method`` (default Euler)
    at ``dt_s``, under a fixed ``name`` (so compiled code is reused), its variables set to the
    section's ``initial`` values."""
    method = section.get("method", "euler")
    if method not in StateUpdateMethod.stateupdaters:
        known = ", ".join(StateUpdateMethod.stateupdaters)
        raise ModelError(f"field 'method': {str(method)[:40]!r} is not an integration method "
                         f"Brian2 knows ({known})")  # fmt: skip
    group = NeuronGroup(n, equations, threshold=threshold, reset=reset, refractory=refractory,
                        method=method, namespace=namespace,
                        dt=dt_s * second, name=name)  # fmt: skip
    for var, expr in dict(section.get("initial", {})).items():
        setattr(group, var, _initial_code(expr))
    return group


def _initial_code(expr: Any) -> Any:
    """An ``initial`` value as Brian2 takes it: code (``E_L``, ``-69*mV``) as it is; a quantity
    written as a parameter is (``"-69 mV"``, which Brian2 reads as code and refuses with "invalid
    syntax"), as its SI value in its unit."""
    if isinstance(expr, str):
        try:
            value, dim = parse_quantity(expr)
        except UnitError:
            return expr
        return expr if dim == DIMENSIONLESS else quantity(value, dim)  # ("0.5": code as well)
    return expr


def var_dim(model: Model, section: str, var: str) -> tuple:
    """The dimension (biorate 7-tuple) of variable ``var`` of the model's ``[section]`` equations."""
    try:
        eqs = Equations(model.section(section)["equations"])
    except Exception as exc:  # Brian2 raises several types for unparsable equations
        raise ModelError(
            f"model {model.name!r}: cannot parse [{section}] equations: {_first_line(exc)}"
        ) from exc
    if var not in eqs.names:
        raise ModelError(f"model {model.name!r}: [{section}] names {var!r}, not in its equations")
    return tuple(int(round(d)) for d in eqs[var].dim._dims)


def expression_dim(group: Any, expr: str) -> tuple:
    """The dimension (biorate 7-tuple) of code expression ``expr`` read in ``group`` (its
    variables and namespace); Brian2's errors for names it cannot resolve pass through."""
    variables = group.resolve_all(get_identifiers(expr), run_namespace={})
    return tuple(int(round(d)) for d in parse_expression_dimensions(expr, variables)._dims)


@contextlib.contextmanager
def codegen_target(target: str) -> Iterator[str]:
    """Set Brian2's code-generation target for the objects made inside the block.

    ``"auto"`` takes Cython when it is importable and a C compiler works (compiled code objects are
    cached under ~/.cython, so only the first run of a new network pays ~20 s), else NumPy.
    """
    old = prefs.codegen.target
    chosen = resolve_target(target)
    prefs.codegen.target = chosen
    try:
        yield chosen
    finally:
        prefs.codegen.target = old


@contextlib.contextmanager
def fast_normals(seed: int | None) -> Iterator[None]:
    """Serve the normal deviates of Brian2's noise (``xi``) from NumPy's ``Generator`` for one run.

    Brian2's runtime targets (Cython and NumPy) call ``numpy.random.randn`` for them, NumPy's legacy
    polar Box-Muller generator; a white-noise f-I curve draws one per neuron and step (22 million
    for 1000 neurons x 2.2 s), and the legacy generator then takes most of the run. Within this
    block ``numpy.random.randn`` is replaced by a ``Generator`` seeded with ``seed`` (ziggurat,
    about three times faster; the same standard normal distribution): same seed, same numbers. The
    original function is restored afterwards. Brian2 code that does not call it is unaffected.
    """
    if seed is None:
        yield
        return
    gen = np.random.default_rng([int(seed), 0x6E6F726D])  # a stream of its own for the normals
    original = np.random.randn

    def randn(*shape: int) -> Any:
        return gen.standard_normal(shape if shape else None)

    np.random.randn = randn
    try:
        yield
    finally:
        np.random.randn = original


class _NoCollect:
    """The ``gc`` module, but ``collect()`` does nothing (see :func:`_skip_orphan_scan`)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(gc, name)

    @staticmethod
    def collect(*args: Any) -> int:
        return 0


@contextlib.contextmanager
def _skip_orphan_scan() -> Iterator[None]:
    """``Network.run`` starts with a full ``gc.collect()`` whose only purpose is to warn about Brian2
    objects created but left out of the network (Brian2's "magic" mode). biorate builds every
    network explicitly, so the scan finds nothing, yet it walks every Python object in the process:
    about 0.1 s per run once SciPy and matplotlib are loaded. Skipped for our runs only."""
    original = network_module.gc
    network_module.gc = _NoCollect()
    try:
        yield
    finally:
        network_module.gc = original


def _progress(label: str) -> tuple[Any, Any]:
    """A tqdm bar in percent of simulated time, and the ``report`` callback that moves it."""
    bar = tqdm(total=100, desc=label, unit="%", leave=False,
               bar_format="{l_bar}{bar}| {elapsed}<{remaining}")  # fmt: skip

    def report(elapsed, completed, start, duration):  # noqa: ANN001
        if not math.isnan(completed):
            bar.n = round(100 * completed)
            bar.refresh()

    return bar, report


def run_network(
    net: Any, duration_s: float, *, label: str, progress: bool, seed: int | None = None
) -> None:
    """Run a Brian2 ``Network`` for ``duration_s`` seconds with a tqdm bar (unless ``progress`` is
    False) and Brian2's model errors turned into :class:`ModelError`. With ``seed``, the noise's
    normal deviates come from a fast seeded generator (:func:`fast_normals`)."""
    null_for_none_streams()
    bar, report = _progress(label) if progress else (None, None)
    # Brian2's own Ctrl-C handler would end the run early and return normally: the counts of a
    # cut-short run would then be saved as a whole curve. Let Ctrl-C raise KeyboardInterrupt.
    stop_pref = prefs.core.stop_on_keyboard_interrupt
    prefs.core.stop_on_keyboard_interrupt = False
    try:
        with fast_normals(seed), _skip_orphan_scan():
            net.run(duration_s * second, report=report, report_period=1 * second)
    except _RUN_ERRORS as exc:
        raise ModelError(f"{label}: Brian2 rejected the model: {_first_line(exc)}") from exc
    finally:
        prefs.core.stop_on_keyboard_interrupt = stop_pref
        if bar is not None:
            bar.close()


# Python operators Brian2's code does not take: its parser fails with a KeyError naming the
# syntax node ('BitAnd'), which names nothing a user wrote
_OPERATORS = {"BitAnd": "&", "BitOr": "|", "BitXor": "^", "Invert": "~", "LShift": "<<",
              "RShift": ">>", "MatMult": "@", "Is": "is", "IsNot": "is not", "In": "in",
              "NotIn": "not in", "NamedExpr": ":="}  # fmt: skip


def _first_line(exc: BaseException) -> str:
    # BrianObjectException wraps the original error; its own text is several lines long
    inner = getattr(exc, "__cause__", None) or exc
    original = getattr(exc, "original_exception", None) or inner
    if isinstance(original, KeyError) and original.args and original.args[0] in _OPERATORS:
        op = _OPERATORS[original.args[0]]
        return (f"the operator {op} is not supported in Brian2 code (for logic use 'and', "
                "'or', 'not'; for powers '**')")  # fmt: skip
    text = str(original) or type(inner).__name__
    return " ".join(text.split())[:300]
