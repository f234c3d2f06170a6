"""Campaign 18's findings (issue 18), and the open points of the last review of the dt check."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import biorate as br

ROOT = Path(__file__).resolve().parents[1]
EQS = "dx/dt = -k*x/tau : 1\ndk/dt = 0/tau : 1"
PARAMS = {"tau": 0.02}


@pytest.mark.parametrize(("initial", "k"), [
    ({"x": "1", "k": "x"}, 1.0),  # k reads x after x is set
    ({"k": "x", "x": "1"}, 0.0),  # k reads x before: 0, as Brian2 starts every variable
    ({"k": "2", "x": "k*3"}, 2.0),
])  # fmt: skip
def test_initial_values_are_set_in_the_tables_order_as_brian2_sets_them(initial, k):
    """The review: the initial state was evaluated in the equations' order, not the table's, so
    an initial value reading another variable could see a value Brian2 had not set yet. Checked
    against Brian2's own NeuronGroup, set as biorate's simulations set it."""
    import brian2

    from biorate.models.stability import relaxation_rates

    group = brian2.NeuronGroup(1, EQS, namespace={"tau": PARAMS["tau"] * brian2.second},
                               codeobj_class=brian2.NumpyCodeObject)  # fmt: skip
    for var, expr in initial.items():
        setattr(group, var, expr)
    assert float(group.k[0]) == k
    brian2.Network(group).run(0 * brian2.ms)  # used (Brian2 warns of a group never run)
    rates = relaxation_rates(EQS, PARAMS, initial)
    assert rates["x"] == pytest.approx(k / PARAMS["tau"], rel=1e-6, abs=1e-9)
    assert rates["k"] == 0.0


def test_a_rate_reading_an_initial_value_it_cannot_evaluate_is_not_checked():
    """The review: an initial value the check cannot evaluate (``rand()``) was taken as 0, so a
    rate that depends on it (a gate's, here k's) was checked at a state the neuron never has."""
    from biorate.models.stability import relaxation_rates, value_at_rest

    rates = relaxation_rates(EQS + "\ndy/dt = -y/tau : 1", PARAMS, {"k": "rand()", "x": "1"})
    assert rates == {"y": pytest.approx(50.0, rel=1e-6)}  # k unknown, x's rate reads it: left out
    assert relaxation_rates(EQS, PARAMS, {"x": "rand()", "k": "1"}) == {"k": 0.0}
    assert value_at_rest("2*k", EQS, PARAMS, {"k": "rand()"}) is None
    assert value_at_rest("2*k", EQS, PARAMS, {"k": "3"}) == 6.0


def test_lastspike_starts_where_brian2_starts_it():
    """Brian2 starts ``lastspike`` at -1e4 s; the check took -1e9 s, so a rate reading it (an
    adaptation decaying since the last spike) was evaluated elsewhere than the neuron is."""
    import brian2

    from biorate.models.stability import relaxation_rates

    group = brian2.NeuronGroup(1, "dv/dt = -v/(20*ms) : 1", threshold="v > 1", reset="v = 0",
                               refractory=0 * brian2.ms, codeobj_class=brian2.NumpyCodeObject)  # fmt: skip
    start = float(group.lastspike[0])
    brian2.Network(group).run(0 * brian2.ms)
    rates = relaxation_rates("dv/dt = -v*(1 - lastspike/1e4)/tau : 1", PARAMS, {})
    assert rates["v"] == pytest.approx((1 - start / 1e4) / PARAMS["tau"])
    assert start == -1e4


def test_a_neuron_search_box_fast_at_its_corners_but_not_inside_is_searched(tmp_path):
    """The review: the box check tried the corners only, so a model relaxing fast at both ends
    of a parameter and slowly between (1 + 1000*(k - 1)^2 times the leak's rate: 20 us at
    k = 0 and 2, 20 ms at k = 1) was refused though its middle runs; it is searched now, and
    refused when no point of the grid can run."""
    from biorate.search import load_search_spec

    lif = (ROOT / "models" / "neurons" / "lif.toml").read_text()
    text = (
        lif.replace('name = "lif"', 'name = "bowl"')
        .replace('theory = "lif"\n', "")
        .replace(
            "dv/dt = (E_L - v + R_m*I)/tau_m",
            "dv/dt = ((E_L - v)*(1 + 1000*(k - 1)**2) + R_m*I)/tau_m",
        )
        .replace('J = "0.1 mV"', 'J = "0.1 mV"\nk = "1"')
    )
    (tmp_path / "bowl.toml").write_text(text)

    def spec(bounds):
        (tmp_path / "s.toml").write_text(
            'schema = 1\nname = "n"\n[search]\nspace = "neuron"\nseed = 0\nbudget = 2\n'
            'population = 2\nsample = 2\n[objective]\nkind = "accuracy"\ndataset = "xor"\n'
            "hidden = [4]\nepochs = 1\nseeds = 1\n[neuron]\n"
            f'model = "{tmp_path / "bowl.toml"}"\n'
            'current = "0nA:4nA:11"\nform = "soft_lif"\ncurve = "measured"\n'
            f"[neuron.bounds]\n{bounds}\n"
        )
        return load_search_spec(tmp_path / "s.toml")

    spec('k = ["0", "2"]')
    with pytest.raises(br.BiorateError, match="at every point of a 5-level grid over the bounds"):
        spec('k = ["1.8", "2"]')


@pytest.mark.parametrize(("text", "shown"), [
    ("1 mV**x", "'mV**x'"), ("1 kA**200", "'kA**200'"), ("2 mV ** 1/2", "'mV ** 1/2'"),
])  # fmt: skip
def test_a_unit_written_with_pythons_power_is_quoted_as_written(text, shown):
    """The review: a unit with ``**`` was read as ``^`` and its error quoted the rewritten text
    (``'kA^200'`` for ``kA**200``), not what the user wrote."""
    from biorate.errors import UnitError
    from biorate.units import parse_quantity

    with pytest.raises(UnitError, match=re.escape(shown)):
        parse_quantity(text)
    assert parse_quantity("1 mS/cm**2") == parse_quantity("1 mS/cm^2")


@pytest.mark.parametrize(("text", "shown"), [
    ("1 S", "1 S"), ("3 uS", "3000 nS"), ("1e-15 S", "1 fS"), ("20 ms", "20 ms"),
    ("1e5 s", "100000 s"), ("5 A", "5 A"), ("0.5 nA", "0.5 nA"), ("-2 S", "-2 S"),
])  # fmt: skip
def test_a_quantity_far_from_its_usual_unit_is_shown_with_a_readable_prefix(text, shown):
    """Campaign 16 E2: a conductance of 1 S read "1000000000 nS" in messages. A value needing
    more than six digits (or below 1e-3) in its dimension's usual unit moves to another prefix
    (a time to seconds at most); the string still reads back to the same value."""
    from biorate.units import format_quantity, parse_quantity

    value, dim = parse_quantity(text)
    assert format_quantity(value, dim) == shown
    assert parse_quantity(shown)[0] == pytest.approx(value, rel=1e-12)
