import pytest
from brian2 import ms, mV

import biorate as br
from biorate.errors import ModelError, UnitError, UnknownModelError, UnknownParameterError

LIF_PARAMS = {"tau_m", "R_m", "E_L", "V_th", "V_reset", "t_ref"}


def test_shipped_models_and_parameter_names():
    names = {m["name"] for m in br.list_models()}
    assert {"lif", "adaptive_lif", "cond_lif"} <= names
    lif = br.load_model("lif")
    assert LIF_PARAMS <= set(lif.params)
    assert lif["tau_m"] == pytest.approx(0.020)
    assert lif["E_L"] == pytest.approx(-0.070)
    assert lif["R_m"] == pytest.approx(1e8)
    assert lif.kind == "neuron" and lif.reference and lif.description
    for name in ("adaptive_lif", "cond_lif"):
        m = br.load_model(name)
        assert m.section("drive").get("poisson"), name


def test_with_params_units_and_errors():
    lif = br.load_model("lif")
    fast = lif.with_params(tau_m=15 * ms, V_th="-52 mV")
    assert fast["tau_m"] == pytest.approx(0.015) and fast["V_th"] == pytest.approx(-0.052)
    assert lif["tau_m"] == pytest.approx(0.020)  # frozen: the original is unchanged
    assert fast.params_strings()["tau_m"] == "15 ms"
    with pytest.raises(UnitError, match="tau_m: expected a time"):
        lif.with_params(tau_m=5 * mV)
    with pytest.raises(UnknownParameterError, match="no parameter 'tau'"):
        lif.with_params(tau="5 ms")
    with pytest.raises(UnknownModelError, match="unknown model 'lfi'"):
        br.load_model("lfi")


def _write(path, body):
    path.write_text(body)
    return path


GOOD = """
name = "mine"
kind = "neuron"
description = "test neuron"
reference = "none"
[parameters]
tau_m = "10 ms"
[neuron]
equations = "dv/dt = -v/tau_m : volt"
"""


def test_user_model_folder_shadows_and_env(tmp_path, monkeypatch):
    _write(tmp_path / "mine.toml", GOOD)
    assert br.load_model("mine", tmp_path)["tau_m"] == pytest.approx(0.01)
    monkeypatch.setenv("BIORATE_MODELS", str(tmp_path))
    assert br.load_model("mine").name == "mine"
    lif_copy = (tmp_path / "neurons").mkdir() or tmp_path / "neurons" / "lif.toml"
    _write(lif_copy, GOOD.replace('"mine"', '"lif"'))
    assert br.load_model("lif")["tau_m"] == pytest.approx(0.01)
    listed = [m for m in br.list_models() if m["name"] == "lif"]
    assert [m["shadowed"] for m in listed] == [False, True]


@pytest.mark.parametrize(
    "body, match",
    [(GOOD.replace("[parameters]", "[parameters"), "malformed TOML"),
     (GOOD.replace('"10 ms"', '"10 parsecs"'), "unknown unit"),
     (GOOD.replace('kind = "neuron"', 'kind = "glia"'), "kind must be one of"),
     (GOOD.replace('reference = "none"', ""), "'reference'"),
     (GOOD.replace('equations = "dv/dt = -v/tau_m : volt"', ""), "equations")],
)  # fmt: skip
def test_malformed_model_files(tmp_path, body, match):
    with pytest.raises(ModelError, match=match):
        br.load_model(_write(tmp_path / "mine.toml", body))


def test_models_cli(cli, tmp_path):
    code, out, _ = cli("models", "--params")
    assert code == 0 and "lif" in out and "tau_m=20 ms" in out
    _write(tmp_path / "mine.toml", GOOD)
    code, out, _ = cli("--models", tmp_path, "models")
    assert code == 0 and "mine" in out


def test_models_listing_into_a_closed_pipe_is_not_an_error():
    """`biorate models --params | head -1`: the reader leaves early; exit 0, no traceback."""
    import os
    import sys

    from biorate.cli import main

    read_end, write_end = os.pipe()
    os.close(read_end)  # every write now fails with EPIPE (BrokenPipeError)
    saved = sys.stdout
    sys.stdout = open(write_end, "w", buffering=1)  # noqa: SIM115 - closed below
    try:
        code = main(["models", "--params"])
        sys.stdout.write("more\n")  # stdout now leads to devnull: silent
        sys.stdout.flush()
    finally:
        sys.stdout.close()
        sys.stdout = saved
    assert code == 0
