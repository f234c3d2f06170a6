"""Exceptions raised by biorate.

Every error a user can cause derives from :class:`BiorateError`, so a script can catch them all,
and the CLI turns each one into a single line on stderr with exit code 2.
"""

from __future__ import annotations

import os
import sys

__all__ = [
    "BiorateError",
    "caller_stacklevel",
    "UnitError",
    "ModelError",
    "UnknownModelError",
    "UnknownParameterError",
    "ProtocolError",
    "CurveFileError",
    "FitError",
    "NetworkError",
    "DataError",
    "OutputError",
    "BiorateWarning",
]


class BiorateError(ValueError):
    """Base class of every error caused by bad input to biorate."""


class UnitError(BiorateError):
    """A quantity has the wrong physical dimension, or a unit string cannot be parsed."""


class ModelError(BiorateError):
    """A model file is malformed or inconsistent."""


class UnknownModelError(ModelError, KeyError):
    """No model of that name is shipped or found in the user's model folders."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class UnknownParameterError(ModelError, KeyError):
    """A parameter name that the model does not define."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ProtocolError(BiorateError):
    """A simulation protocol value is out of range (duration <= 0, trials < 1, NaN, ...)."""


class CurveFileError(BiorateError):
    """A transfer-curve or activation JSON file is malformed or of the wrong kind."""


class FitError(BiorateError):
    """A curve cannot be fitted (too few points, constant data, unknown form, ...)."""


class NetworkError(BiorateError):
    """A rate network is mis-specified or a network file is corrupt."""


class DataError(BiorateError):
    """A data set is missing, malformed, or does not match the network."""


class OutputError(BiorateError):
    """An output file or folder cannot be written (its folder is missing or read-only, it is a
    folder where a file is expected, or a file where a folder is expected)."""


class BiorateWarning(UserWarning):
    """Base class of biorate's warnings (the CLI prints each as one ``biorate: warning:`` line)."""


def caller_stacklevel() -> int:
    """The ``stacklevel`` for :func:`warnings.warn` that points at the first frame outside the
    biorate package, counted from the function that calls this one: a warning names the user's
    line, however deep inside biorate it is raised (and Python's once-per-location filter then
    works per user call site)."""
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level
