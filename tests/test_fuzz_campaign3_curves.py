"""Fuzz campaign 3 (issue 18): curves, fits, activations, protocols and the files they are read
from. Each test is one defect of the campaign's report (its id in the name): bad input gives one
line and exit 2 from the CLI, a specific BiorateError from the API."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import biorate as br
from biorate.activation import Activation, get_activation
from biorate.errors import CurveFileError, DataError, FitError, ModelError, ProtocolError, UnitError
from biorate.fitting.stats import goodness
from biorate.io import MAX_JSON_BYTES, MAX_TOML_BYTES, read_json
from biorate.units import integer, parse_quantity, parse_range


def one_line_error(result: tuple[int, str, str], *needles: str) -> str:
    """The one stderr line of a refusal with exit code 2 (``result``: the ``cli`` fixture's)."""
    code, _, err = result
    assert code == 2, (code, err)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def fi_curve(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("c3") / "fi.json"
    br.theory.fi("lif", current="0nA:1nA:21", sigma="2 mV").save(path)
    return str(path)


def _edit(src: str, dst, edit) -> str:
    d = json.load(open(src))
    edit(d)
    json.dump(d, open(dst, "w"))
    return str(dst)


# --- A1: subnormal y ------------------------------------------------------------------------------
def test_a1_subnormal_y_is_constant(cli, fi_curve, tmp_path):
    def tiny(d):
        d["y"] = [v * 1e-320 for v in d["y"]]

    path = _edit(fi_curve, tmp_path / "c.json", tiny)
    with pytest.raises(FitError, match="constant to within"):
        br.fit(path, "sigmoid")
    one_line_error(cli("fit", path, "--form", "sigmoid", "-o", str(tmp_path / "a.json")),
                   "y is constant to within", "1e-100")  # fmt: skip
    assert not (tmp_path / "a.json").exists()


def test_a1_r2_robust_for_tiny_and_constant_data():
    y = np.array([1e-318, 2e-318, 3e-318])
    assert 0.99 < goodness(y, y * 1.01, np.ones(3), 1)["r2"] <= 1.0
    assert goodness(np.zeros(3), np.zeros(3), np.ones(3), 1)["r2"] == 1.0
    assert goodness(np.ones(3), np.zeros(3), np.ones(3), 1)["r2"] == 0.0


# --- B1, B5: dt and current bounds, shared by theory and simulate ---------------------------------
@pytest.mark.parametrize("cmd", ["theory", "simulate"])
def test_b1_dt_floor(cli, cmd, tmp_path):
    out = tmp_path / "t.json"
    r = cli(cmd, "fi", "--current", "0nA:1nA:3", "--dt", "1e-320s", "-o", str(out))
    one_line_error(r, "at least 1 ns")
    assert not out.exists()
    with pytest.raises(ProtocolError, match="at least 1 ns"):
        br.theory.fi("lif", current="0nA:1nA:3", dt="1e-12 ms")


@pytest.mark.parametrize("cmd", ["theory", "simulate"])
def test_b5_current_bound(cli, cmd, tmp_path):
    r = cli(cmd, "fi", "--current", "0nA:1e308nA:3", "-o", str(tmp_path / "t.json"))
    one_line_error(r, "current must lie within +-1 A")
    r = cli(cmd, "fi", "--current", "0nA:5kA:3", "-o", str(tmp_path / "t.json"))
    one_line_error(r, "current must lie within +-1 A", "5000 A")


def test_b5_current_bound_api():
    with pytest.raises(ProtocolError, match="within"):
        br.theory.fi("lif", current="-2A:0A:3")
    from biorate.spiking.protocol import levels
    from biorate.units import CURRENT

    with pytest.raises(ProtocolError, match="within"):
        levels("0nA:2A:3", CURRENT, "current")


# --- B4, B7: activation shape at domain edges -----------------------------------------------------
@pytest.fixture(scope="module")
def hill_soft(fi_curve):
    return (br.fit(fi_curve, "hill").activation().to_dict(),
            br.fit(fi_curve, "soft_lif").activation().to_dict())  # fmt: skip


@pytest.mark.parametrize(
    "which, key, value, match",
    [("hill", "n", 1e99, "g'\\(z\\) reaches"), ("hill", "n", 1e-300, "a step"),
     ("soft", "gamma", 1e-300, "g'\\(z\\) reaches"), ("hill", "r0", 1e99, "r0 = 1e\\+99")],
)  # fmt: skip
def test_b4_b7_activation_edges(hill_soft, which, key, value, match):
    d = json.loads(json.dumps(hill_soft[0 if which == "hill" else 1]))
    d["params"][key] = value
    with pytest.raises(CurveFileError, match=match):
        Activation.from_dict(d, "x.json")


def test_b4_shipped_and_typical_activations_pass(hill_soft):
    from biorate.activation import list_activations

    for name in list_activations():
        get_activation(name)
    for d in hill_soft:
        Activation.from_dict(d)
    d = json.loads(json.dumps(hill_soft[0]))
    d["params"]["n"] = 0.1  # the lower bound a Hill fit may reach: steep, but no step
    Activation.from_dict(d)


# --- B6: negative rates ----------------------------------------------------------------------------
def test_b6_negative_rate_flag(cli, fi_curve, tmp_path):
    fit = br.fit(fi_curve, "sigmoid")
    assert fit.params["r0"] < 0
    assert "negative_rate" in fit.flags and not fit.ok
    assert fit.status.startswith("FLAGGED") and "negative_rate" in fit.status
    code, out, _ = cli("fit", fi_curve, "--form", "sigmoid", "-o", str(tmp_path / "a.json"))
    assert code == 0
    assert "FLAGGED: negative_rate" in out
    assert json.load(open(tmp_path / "a.json"))["fit"]["flags"] == ["negative_rate"]
    assert "negative_rate" not in br.fit(fi_curve, "lif").flags


def test_b6_shipped_lif_within_noise():
    act = get_activation("lif")
    assert -0.1 < act.r0 < 0
    assert "negative_rate" not in act.fit_flags


# --- C1: size caps ---------------------------------------------------------------------------------
def test_c1_size_cap_before_reading(cli, tmp_path):
    big = tmp_path / "big.json"
    with open(big, "wb") as f:
        f.truncate(MAX_JSON_BYTES + 1)  # sparse: no memory, no disk
    with pytest.raises(CurveFileError, match="64 MiB"):
        read_json(big)
    one_line_error(cli("fit", str(big), "-o", str(tmp_path / "o.json")), "larger than", "64 MiB")
    toml = tmp_path / "m.toml"
    with open(toml, "wb") as f:
        f.truncate(MAX_TOML_BYTES + 1)
    with pytest.raises(ModelError, match="4 MiB"):
        br.load_model(str(toml))


# --- D2, D3: --set values named --------------------------------------------------------------------
def test_d2_subnormal_resistance_named(cli, tmp_path):
    r = cli("theory", "fi", "--current", "0nA:1nA:3", "--set", "R_m=1e-320ohm", "-o",
            str(tmp_path / "t.json"))  # fmt: skip
    line = one_line_error(r, "model 'lif'", "R_m = ", "above 1e-30 ohm")
    assert "transfer curve" not in line and "0 Mohm" not in line


def test_d3_set_breaks_relation_names_the_set(cli, tmp_path):
    r = cli("theory", "fi", "--current", "0nA:1nA:3", "--set", "V_th=-65mV", "-o",
            str(tmp_path / "t.json"))  # fmt: skip
    line = one_line_error(r, "model 'lif' with V_th set to -65 mV", "V_reset = -60 mV")
    assert "lif.toml" not in line
    with pytest.raises(ModelError, match="with V_th set to"):
        br.load_model("lif").with_params(V_th="-65 mV")


# --- D5: missing current ---------------------------------------------------------------------------
def test_d5_missing_current_message():
    with pytest.raises(ProtocolError, match="needs current=") as exc:
        br.theory.fi("lif", current=None)
    assert "rate" not in str(exc.value)
    with pytest.raises(ProtocolError, match="not rate="):
        br.theory.fi("lif", current="0nA:1nA:3", rate="0Hz:1Hz:3")
    from biorate.models import fi_axis

    with pytest.raises(ProtocolError, match="needs rate="):
        fi_axis("poisson", None, None)


# --- D6: huge JSON integer -------------------------------------------------------------------------
def test_d6_huge_integer_one_line(cli, fi_curve, tmp_path):
    text = open(fi_curve).read().replace('"schema": 1', '"schema": ' + "1" * 5000, 1)
    path = tmp_path / "c.json"
    path.write_text(text)
    line = one_line_error(cli("fit", str(path), "-o", str(tmp_path / "o.json")),
                          "an integer of 5,000 digits")  # fmt: skip
    assert "set_int_max_str_digits" not in line


# --- E: activation inputs --------------------------------------------------------------------------
@pytest.mark.parametrize("z", [None, True, ["1", "2"], "1", [1.0, None], np.array([True, False])])
def test_e_activation_refuses_non_numbers(z):
    for act in (Activation.builtin("sigmoid"), get_activation("lif")):
        with pytest.raises(DataError, match="takes numbers"):
            act(z)
        with pytest.raises(DataError, match="takes numbers"):
            act.derivative(z)
        with pytest.raises(DataError, match="takes numbers"):
            act.to_rate(z)
    assert np.allclose(Activation.builtin("sigmoid")([0, 0.0]), 0.5)


# --- F: duplicate keys, Unicode digits ------------------------------------------------------------
def test_f_duplicate_json_keys(cli, fi_curve, tmp_path):
    text = open(fi_curve).read().rstrip()[:-1] + ', "kind": "activation"}'
    path = tmp_path / "dup.json"
    path.write_text(text)
    with pytest.raises(CurveFileError, match="'kind' is given twice"):
        br.TransferCurve.load(path)
    one_line_error(cli("fit", str(path), "-o", str(tmp_path / "o.json")), "given twice")


@pytest.mark.parametrize("text", ["５nA", "٥ nA", "1 m^２"])
def test_f_unicode_digits_quantity(text):
    with pytest.raises(UnitError, match="digits must be ASCII"):
        parse_quantity(text)


def test_f_unicode_digits_count():
    with pytest.raises(UnitError, match="digits must be ASCII"):
        parse_range("0nA:1nA:３")
    with pytest.raises(UnitError, match="digits must be ASCII"):
        integer("２")
    assert integer(" 12 ") == 12 and parse_range("0nA:1nA:3")[0].size == 3


def test_f_unicode_digits_cli(cli, tmp_path):
    out = str(tmp_path / "t.json")
    one_line_error(cli("theory", "fi", "--current", "0nA:５nA:3", "-o", out), "ASCII")
    one_line_error(cli("simulate", "fi", "--current", "0nA:1nA:3", "--trials", "２", "-o", out),
                   "--trials", "invalid integer value")  # fmt: skip
    assert not os.path.exists(out)
