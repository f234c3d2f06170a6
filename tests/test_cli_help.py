"""Every subcommand's --help shows every default, and ``biorate fit --help`` every fit form."""

from __future__ import annotations

import argparse

import pytest

from biorate.cli import build_parser


def _parsers(parser: argparse.ArgumentParser, name: str = "biorate"):
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {sub_name}")


PARSERS = dict(_parsers(build_parser()))


def _shows_default(parser: argparse.ArgumentParser, action: argparse.Action) -> bool:
    text = " ".join(parser._get_formatter()._format_action(action).split())  # as --help shows it
    default = action.default
    shown = ",".join(map(str, default)) if isinstance(default, list | tuple) else str(default)
    return "(default" in text and (shown in text or f"{default!r}" in text)


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_help_shows_every_default(name):
    parser = PARSERS[name]
    missing = [
        "/".join(a.option_strings) or a.dest
        for a in parser._actions
        if a.default not in (None, argparse.SUPPRESS)
        and not isinstance(a.default, bool)  # flags: off unless given
        and not isinstance(a, argparse._SubParsersAction | argparse._HelpAction)
        and not _shows_default(parser, a)
    ]
    assert not missing, f"{name} --help hides the default of {missing}"
    parser.format_help()  # formats (no stray % in a help text)


def test_fit_help_lists_every_form(cli):
    from biorate.cli.fit import FORM_NAMES
    from biorate.forms import FORMS

    code, out, _ = cli("fit", "--help")
    assert code == 0
    text = " ".join(out.split())
    for name in FORMS:
        assert name in text, name
    assert "lif" in FORM_NAMES and "soft_lif" in FORM_NAMES
    assert FORM_NAMES == ", ".join(FORMS)
