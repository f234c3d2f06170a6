"""Whether matplotlib can write a figure's format: checked before any work, by the CLI and by
the API functions that take a ``plot`` path (matplotlib is imported only when a figure is named)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .errors import OutputError

__all__ = ["check_figure_format"]


def check_figure_format(path: str | os.PathLike | None, what: str) -> None:
    """Refuse, before any work, a figure path whose suffix matplotlib cannot write (no suffix
    means PNG)."""
    if path is None:
        return
    if not isinstance(path, str | os.PathLike):
        raise OutputError(f"{what} must be a path (str or os.PathLike), got {path!r}"[:200])
    fmt = Path(path).suffix.lstrip(".").lower() or "png"
    try:
        from matplotlib.figure import Figure  # matplotlib: only when a figure is asked for
    except ValueError as exc:  # e.g. MPLBACKEND=bogus: matplotlib refuses to start
        raise OutputError(f"{what} {path}: matplotlib cannot start ({' '.join(str(exc).split())[:160]}); "
                          "check MPLBACKEND") from None  # fmt: skip

    formats = Figure().canvas.get_supported_filetypes()
    if fmt not in formats:
        raise OutputError(f"{what} {path}: matplotlib cannot write {fmt!r} figures; use one of "
                          f"{', '.join(sorted(formats))}")  # fmt: skip
    import matplotlib

    if matplotlib.rcParams["text.usetex"]:  # a matplotlibrc's text.usetex: every text through TeX
        needs = ["latex"] + (
            ["dvipng"] if fmt not in ("pdf", "ps", "eps", "svg", "svgz", "pgf") else []
        )
        missing = [tool for tool in needs if shutil.which(tool) is None]
        if missing:
            raise OutputError(f"{what} {path}: matplotlib is set to draw text with TeX "
                              f"(text.usetex in a matplotlibrc), but {' and '.join(missing)} "
                              f"{'is' if len(missing) == 1 else 'are'} not installed here; unset "
                              "text.usetex")  # fmt: skip
    if fmt == "pgf":  # matplotlib writes PGF through a TeX system, found only when it saves
        tex = str(matplotlib.rcParams["pgf.texsystem"])
        if shutil.which(tex) is None:
            raise OutputError(f"{what} {path}: matplotlib writes PGF figures with a TeX system "
                              f"({tex}), which is not installed here; use .pdf, .svg or .png")  # fmt: skip
