"""The ``biorate`` command line. Each subcommand lives in its own module of this package and
defines ``add_parser(subparsers)`` (which sets ``func``) so that modules stay small and heavy
imports (Brian2, SciPy) happen only inside the command that needs them.

Errors a user can cause (:class:`biorate.BiorateError`, a bad argument) print one line on stderr and
exit with code 2; nothing already written is touched (all writes are atomic).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib
import logging
import os
import re
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

from .._version import __version__
from ..errors import BiorateError, BiorateWarning

# subcommand modules, in the order `biorate --help` lists them; a missing one is skipped
COMMANDS = ["models", "simulate", "theory", "fit", "train", "evaluate", "deploy", "export", "sweep",
            "search", "pipeline"]  # fmt: skip


class _HelpFormatter(argparse.HelpFormatter):
    """Every option's help shows its default: ``(default: X)`` is appended unless the text already
    names it (``(default ...``). Flags (``store_true``) and options without a default (None) have
    none to show."""

    @staticmethod
    def _has_default(action: argparse.Action) -> bool:
        return (
            action.default not in (None, argparse.SUPPRESS)
            and not isinstance(action.default, bool)
            and bool(action.option_strings or action.nargs in ("?", "*"))
        )

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "(default" not in text and self._has_default(action):
            text = (text + " (default: %(default)s)").strip()
        return text

    def _format_action(self, action: argparse.Action) -> str:
        if not (action.help or "").strip() and self._has_default(action):
            action = copy.copy(action)  # an option without help still shows its default
            action.help = "(default: %(default)s)"
        return super()._format_action(action)


def _line(text: Any) -> str:
    """``text`` as one line safe for a terminal: line breaks and other control characters (an
    escape sequence or a newline in a file name, a NUL) are shown escaped (``\\x1b``, ``\\n``)
    rather than sent to the terminal, which would act on them (a newline shown as a space named
    another file)."""
    text = "".join(map(_printable, str(text)))
    text = _SURROGATE_REPR.sub(r"\\x\1", text)  # (one shown by repr(): 'li\udce9')
    # a value of thousands of characters (an option given 5,000 digits) is shown by its ends
    return _LONG_WORD.sub(_shorten, text)


def _printable(c: str) -> str:
    """A character as an error line shows it: itself, or escaped; a byte of a non-UTF-8 file name
    (a surrogate escape, ``\udce9``) as the byte, ``\xe9``, as figure titles show it."""
    if c.isprintable():
        return c
    if "\udc80" <= c <= "\udcff":
        return f"\\x{ord(c) - 0xDC00:02x}"
    return c.encode("unicode_escape").decode("ascii")


_SURROGATE_REPR = re.compile(r"\\udc([89a-f][0-9a-f])")
_LONG_WORD = re.compile(r"\S{1000,}")  # (a path may have up to 4096 characters)


def _shorten(match: re.Match) -> str:
    word = match.group(0)
    return f"{word[:200]}...({len(word):,} characters)...{word[-60:]}"


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad arguments in one line with exit code 2 (not the usage dump), and
    whose help shows every default."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"biorate: error: {_line(message)} (see '{self.prog} --help')\n")
        raise SystemExit(2)

    def _print_message(self, message: str, file: Any = None) -> None:
        """argparse drops an error writing ``--help`` or ``--version`` (a full device: exit 0,
        the text lost); here it reaches :func:`main`, which says so in one line, exit 2."""
        if message:
            stream = file or sys.stderr
            stream.write(message)
            stream.flush()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="biorate", description="Bridge spiking and rate models of neurons.")
    parser.add_argument("--version", action="version", version=f"biorate {__version__}")
    parser.add_argument("--models", metavar="DIR", default=None,
                        help="extra folder of model files (searched before $BIORATE_MODELS and "
                             "the shipped models)")  # fmt: skip
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue
            raise
        module.add_parser(sub)
    return parser


def _show(w: warnings.WarningMessage) -> None:
    """biorate's own warnings as one line on stderr (as its errors are); others as Python has it."""
    if issubclass(w.category, BiorateWarning):
        sys.stderr.write(f"biorate: warning: {_line(w.message)}\n")
    else:
        warnings.showwarning(w.message, w.category, w.filename, w.lineno, w.file, w.line)


@contextlib.contextmanager
def _models_searched_first(folder: Any) -> Iterator[None]:
    """``biorate --models DIR COMMAND``: DIR is searched first by every command, as
    ``$BIORATE_MODELS`` is (commands that read a model by name deep inside, such as deploy, export,
    search and the pipeline, and the Dask workers a sweep or search starts, see the variable);
    a missing folder is one line before any work. The environment is restored afterwards (main()
    may be called again in one process)."""
    if not folder:
        yield
        return
    from ..errors import ModelError
    from ..models import model_dirs

    if os.pathsep in str(folder):  # it travels to workers in $BIORATE_MODELS, split at pathsep
        raise ModelError(f"--models {folder}: a folder whose path holds {os.pathsep!r} cannot be "
                         "used (paths of model folders are separated by it); rename or link it")  # fmt: skip
    model_dirs(folder)
    env = os.environ.get("BIORATE_MODELS")
    os.environ["BIORATE_MODELS"] = os.pathsep.join([str(folder), *([env] if env else [])])
    try:
        yield
    finally:
        if env is None:
            os.environ.pop("BIORATE_MODELS", None)
        else:
            os.environ["BIORATE_MODELS"] = env


def _run(args: argparse.Namespace) -> int:
    """The command. biorate's own warnings print at once, one line each (a user must read "this
    activation comes from a poor fit" before a long training, not after it); other libraries'
    warnings (NumPy's RuntimeWarnings, ...) are held back: shown once the command has finished (or
    been interrupted), dropped when it refuses its input (the one error line says what is wrong)."""
    held: list[warnings.WarningMessage] = []

    def show(message: Any, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:  # fmt: skip
        w = warnings.WarningMessage(message, category, filename, lineno, file, line)
        _show(w) if issubclass(category, BiorateWarning) else held.append(w)

    interrupted: BaseException | None = None
    with warnings.catch_warnings(), _models_searched_first(getattr(args, "models", None)):
        warnings.showwarning = show
        try:
            code = int(args.func(args) or 0)
        except (KeyboardInterrupt, _Terminated) as exc:
            interrupted = exc
    for w in held:  # (a refusal raised past this: its held warnings are dropped)
        _show(w)
    if interrupted is not None:
        raise interrupted
    return code


def _os_error(exc: OSError) -> str:
    """An ``OSError`` no loader turned into a BiorateError (a file vanished, a disk filled up,
    ...), in one line naming the file."""
    why = exc.strerror or str(exc)
    if exc.filename:
        return f"{exc.filename}: {why}"
    try:
        os.getcwd()
    except OSError:
        return f"the working folder is gone (deleted while biorate ran?): {why}"
    return why


class _Escaped:
    """The standard output as a command writes it: results name files, and a name's control
    characters (an escape sequence, a bell) are shown escaped (``\x1b``), as error lines show
    them, not sent to the terminal to act on. Everything else is the stream itself."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        if _CONTROL.search(text):
            text = _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"),
                                text)  # fmt: skip
        with _named_stdout():
            return self._stream.write(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        with _named_stdout():
            self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def _named_stdout() -> Iterator[None]:
    """An error writing the standard output (a full device) names it: the outputs themselves
    may well be written (a closed reader, BrokenPipeError, stays what it is)."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, "the standard output") from None


class _Lossy:
    """The standard error as a command writes it: a closed stream (``2>&-``), or one on a full
    device, loses its lines, not the exit code (an OSError there made exit 2 a 1)."""

    def __init__(self, stream: Any, own: bool) -> None:
        self._own = own  # the command line's own stream (closed when it fails), or a caller's
        self._stream = stream if stream is not None else open(os.devnull, "w")  # noqa: SIM115

    def write(self, text: str) -> int:
        try:
            n = self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):
            self._drop()
            return len(text)
        return n

    def flush(self) -> None:
        try:
            self._stream.flush()
        except (OSError, ValueError):
            self._drop()

    def _drop(self) -> None:
        """Close the command line's failing stream, so the interpreter's last flush does not
        try it again (a failed flush at exit makes the exit code 120); a caller of main(ARGS)
        keeps its own. Later lines go to the null device."""
        if self._own:
            with contextlib.suppress(OSError, ValueError):
                self._stream.close()
        self._stream = open(os.devnull, "w")  # noqa: SIM115

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


# control characters but the line break and tab (C0, DEL and C1)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class _Terminated(BaseException):
    """SIGTERM (``kill``, a batch system's time limit), raised in the main thread so that every
    output's clean-up runs as for Ctrl-C: temp files removed, old outputs left whole."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated


def _null_for_closed_streams() -> None:
    """A command started with its standard output or error closed (``>&-``, ``2>&-``): the null
    device takes the closed descriptor (for the processes it starts: Dask's workers) and the
    stream (Brian2 flushes both while it checks its compiler, and a closed one made every
    simulation fail with "'NoneType' object has no attribute 'flush'")."""
    for fd, name in ((1, "stdout"), (2, "stderr")):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        null = os.open(os.devnull, os.O_WRONLY)
        if null != fd:
            os.dup2(null, fd)
            os.close(null)
        if getattr(sys, name) is None:
            setattr(sys, name, open(fd, "w", closefd=False))  # noqa: SIM115


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``biorate ARGV``; returns the exit code: 0, 2 for bad input or a file that cannot be
    read or written (one line on stderr, no traceback), 130 for Ctrl-C (one line, at any point:
    while importing, parsing or working)."""
    for stream in (sys.stdout, sys.stderr):  # `wrote é.json` under PYTHONIOENCODING=ascii: \xe9
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="backslashreplace")
    # Brian2's __init__ runs `from pylab import *` (matplotlib.pyplot: ~0.5 s of its 1.5 s import)
    # for its interactive namespace, which no command uses: while a command runs, a missing pylab
    # makes Brian2 take NumPy's names instead (its own fallback); a figure imports matplotlib itself
    # (only for the command line itself, argv None: a caller of main(ARGS) in its own process,
    # a notebook or a test, keeps Brian2's full namespace for its later `from brian2 import *`)
    block_pylab = argv is None and "pylab" not in sys.modules and "brian2" not in sys.modules
    capture = logging.captureWarnings
    # the command line itself (argv None) turns a default SIGTERM into an exception; an ignored
    # one stays ignored (as the parent asked), and a caller of main(ARGS) keeps its own handler
    term = (signal.getsignal(signal.SIGTERM)
            if argv is None and threading.current_thread() is threading.main_thread() else None)  # fmt: skip
    if term != signal.SIG_DFL:
        term = None
    if term is not None:
        signal.signal(signal.SIGTERM, _on_sigterm)
    if block_pylab:
        sys.modules["pylab"] = None  # type: ignore[assignment]
        # and Brian2's import would route Python's warnings into its log (three lines each, with
        # the source path): biorate's own print as its one line, whenever Brian2 is imported
        logging.captureWarnings = lambda capture: None  # type: ignore[assignment]
    if argv is None:
        _null_for_closed_streams()
    stdout, stderr = sys.stdout, sys.stderr
    if stdout is not None:  # (None: the standard output is closed, and print skips it)
        sys.stdout = _Escaped(stdout)  # type: ignore[assignment]
    sys.stderr = _Lossy(stderr, own=argv is None)  # type: ignore[assignment]
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        return _run(args)
    except BiorateError as exc:
        sys.stderr.write(f"biorate: error: {_line(exc)}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("biorate: interrupted\n")
        return 130
    except _Terminated:
        sys.stderr.write("biorate: terminated\n")
        return 143
    except BrokenPipeError:  # `biorate models --params | head`: the reader left; not an error
        # Python's recipe: point stdout at devnull so that the interpreter's final flush is silent
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:
        sys.stderr.write(f"biorate: error: {_line(_os_error(exc))}\n")
        return 2
    except MemoryError:
        sys.stderr.write("biorate: error: out of memory; try a smaller problem (fewer levels, "
                         "trials, images or units)\n")  # fmt: skip
        return 2
    finally:
        if term is not None:
            signal.signal(signal.SIGTERM, term)
        if block_pylab and "pylab" in sys.modules and sys.modules["pylab"] is None:
            del sys.modules["pylab"]  # a later `import pylab` in this process works as usual
        logging.captureWarnings = capture
        if isinstance(sys.stdout, _Escaped):
            sys.stdout = stdout
        if isinstance(sys.stderr, _Lossy):
            sys.stderr = stderr


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
