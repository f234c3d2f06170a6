"""Issue 18, fuzz campaign 3 (network, deploy and sweep part): each input below used to give a
traceback, a misleading message or exit 0 with nonsense; each is now one line (CLI, exit 2) or a
specific BiorateError (API), before any work starts."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from test_cli_bad_input import no_work, one_line  # noqa: F401  (fixture)

from biorate.errors import DataError, NetworkError
from biorate.network import RateNetwork


def _xor(n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.random((n, 2))
    return X, ((X[:, 0] > 0.5) ^ (X[:, 1] > 0.5)).astype(int)


# ----------------------------------------------------------------------------- A2
@pytest.mark.parametrize("sizes", [np.array(5), np.float64(3.0), b"23"])
def test_a_0d_array_or_scalar_as_sizes_is_a_network_error(sizes):
    with pytest.raises(NetworkError, match="sizes must list population sizes"):
        RateNetwork(sizes)


# ----------------------------------------------------------------------------- E
def test_numeric_strings_are_refused_not_converted():
    X, y = _xor()
    with pytest.raises(DataError, match="X holds strings"):
        RateNetwork([2, 3, 2], seed=0).fit(X.astype(str).tolist(), y, epochs=1)
    with pytest.raises(DataError, match="X holds strings"):
        RateNetwork([2, 3, 2], seed=0).fit(np.array(X.astype(str), dtype=object), y, epochs=1)


def test_a_masked_array_with_masked_values_is_refused():
    X, y = _xor()
    with pytest.raises(DataError, match="X is a masked array with 1 masked value"):
        RateNetwork([2, 3, 2], seed=0).fit(np.ma.masked_array(X, mask=X == X.max()), y, epochs=1)
    with pytest.raises(DataError, match="labels y is a masked array"):
        RateNetwork([2, 3, 2], seed=0).fit(X, np.ma.masked_array(y, mask=y == 1), epochs=1)
    # a mask that hides nothing changes nothing
    RateNetwork([2, 3, 2], seed=0).fit(np.ma.masked_array(X), y, epochs=1)


def test_labels_of_one_class_are_refused_for_training_only():
    X, y = _xor()
    net = RateNetwork([2, 3, 2], seed=0)
    with pytest.raises(DataError, match=r"labels y hold one class \(0\): a classifier needs"):
        net.fit(X, np.zeros_like(y), epochs=1)
    net.fit(X, y, epochs=1)
    assert 0 <= net.evaluate(X[y == 0], y[y == 0])["accuracy"] <= 1  # scoring one class is fine


@pytest.mark.parametrize("scale", [1e200, 1e7, 1e-7, 1e-310])
def test_inputs_far_outside_scale_one_are_refused(scale):
    X, y = _xor()
    with pytest.raises(DataError, match="X's largest magnitude is .*outside \\[1e-06, 1e\\+06\\]"):
        RateNetwork([2, 3, 2], seed=0).fit(X * scale, y, epochs=1)


def test_deploy_refuses_inputs_far_outside_the_training_range():
    """br.deploy(net, 1e30...) injected currents of 1e21 A; the data check is the network's."""
    from network_helpers import lif_activation

    import biorate as br

    X, y = _xor()
    net = RateNetwork([2, 3, 2], activation=lif_activation(), seed=0)
    net.fit(X, y, epochs=1)
    with pytest.raises(DataError, match="largest magnitude is 1e\\+30"):
        br.deploy(net, np.full((2, 2), 1e30), [0, 1], target="numpy", method="euler")


# ----------------------------------------------------------------------------- D1
def _specials(tmp_path: Path, suffix: str) -> dict[str, Path]:
    fifo, folder, loop = (
        tmp_path / f"f{suffix}",
        tmp_path / f"d{suffix}",
        tmp_path / f"loop{suffix}",
    )
    os.mkfifo(fifo)
    folder.mkdir()
    os.symlink(loop, loop)
    null = tmp_path / f"n{suffix}"
    os.symlink(os.devnull, null)
    return {"fifo": fifo, "folder": folder, "loop": loop, "null": null}


_SAYS = {"fifo": "not a regular file (a device, FIFO or socket)",
         "null": "not a regular file (a device, FIFO or socket)",
         "folder": "folder", "loop": "symbolic links"}  # fmt: skip


@pytest.mark.parametrize("kind", list(_SAYS))
@pytest.mark.parametrize("command", ["evaluate", "deploy"])
def test_a_network_path_that_is_not_a_file_is_named_as_such(cli, tmp_path, no_work, kind, command):  # noqa: F811
    path = _specials(tmp_path, ".npz")[kind]
    code, _, err = cli(command, path, "--dataset", "xor")
    assert code == 2
    one_line(err, str(path), _SAYS[kind])
    assert "no such" not in err


@pytest.mark.parametrize("kind", list(_SAYS))
def test_an_activation_path_that_is_not_a_file_is_named_as_such(cli, tmp_path, no_work, kind):  # noqa: F811
    path = _specials(tmp_path, ".json")[kind]
    code, _, err = cli("train", "--dataset", "xor", "--epochs", "2", "--activation", path,
                       "-o", tmp_path / "x.npz")  # fmt: skip
    assert code == 2
    one_line(err, str(path), _SAYS[kind] if kind != "folder" else "Is a directory")
    assert "does not exist" not in err
    assert not (tmp_path / "x.npz").exists()


# ----------------------------------------------------------------------------- B2 and F (sweep)
# (the CLI's sweep loads its spec inside run_sweep, which no_work replaces: these tests check
# that nothing was written instead)
_SPEC = """schema = 1
name = {name}
measure = "fi"
[model]
name = "lif"
{set}
[grid]
{grid}
[protocol]
drive = "{drive}"
{axis}
duration = "50 ms"
transient = "10 ms"
trials = 2
dt = "0.1 ms"
seed = 1
target = "numpy"
[fit]
forms = ["sigmoid"]
"""


def _spec(tmp_path: Path, grid: str, *, name: str = '"t"', set_: str = "",
          drive: str = "current") -> Path:  # fmt: skip
    axis = 'current = "0nA:1nA:6"' if drive == "current" else 'rate = "1Hz:50Hz:6"'
    path = tmp_path / "s.toml"
    path.write_text(_SPEC.format(name=name, set=set_, grid=grid, drive=drive, axis=axis),
                    encoding="utf-8")  # fmt: skip
    return path


@pytest.mark.parametrize(
    ("grid", "says"),
    [('sigma = ["1 mV", "1e30 mV"]', "grid.sigma = 1e+30 mV: sigma must lie in [0, 10 V]"),
     ('sigma = ["1 mV", "-1 mV"]', "grid.sigma = -1 mV: sigma must lie in [0, 10 V]"),
     ('V_th = ["-50 mV", "-65 mV"]',
      "grid points with V_th = -65 mV: model 'lif': parameter V_reset = -60 mV must lie below"),
     ('V_th = ["-50 mV", "-65 mV"]\nV_reset = ["-70 mV", "-55 mV"]',
      "grid points with V_th = -65 mV, V_reset = -55 mV: model 'lif': parameter V_reset = -55 mV"),
     ('t_ref = ["2 ms", "0.05 ms"]', "grid.t_ref = 0.05 ms: dt = 0.1 ms must be shorter than the "
                                     "refractory period"),
     ('tau_m = ["20 ms", "0.05 ms"]', "grid.tau_m = 0.05 ms: dt = 0.1 ms must be shorter than the "
                                      "time constant tau_m"),
     ('E_L = ["-70 mV", "1e30 V"]', "grid.E_L = 1e+33 mV: model 'lif': parameter E_L = 1e+33 mV: a potential"),
     ('R_m = ["100 Mohm", "0 ohm"]', "a resistance must be > 0")],
)  # fmt: skip
def test_every_grid_point_is_checked_before_any_runs(cli, tmp_path, grid, says):
    """A bad point used to run after the good ones and end as '1 of 2 points failed', exit 0."""
    out = tmp_path / "out"
    code, _, err = cli("sweep", _spec(tmp_path, grid), "--workers", "1", "--quiet", "-o", out)
    assert code == 2
    one_line(err, says)
    assert not out.exists()


def test_points_are_named_by_index_and_interacting_values_pass_together(tmp_path):
    """[[points]] errors name the point; values valid together (V_reset below V_th at each point)
    pass though each would fail against the other's base value."""
    from biorate.errors import ModelError
    from biorate.sweep import load_spec

    base = {"schema": 1, "name": "t", "measure": "fi", "model": {"name": "lif"},
            "protocol": {"drive": "current", "current": "0nA:1nA:6", "duration": "50 ms",
                         "transient": "10 ms", "trials": 2, "dt": "0.1 ms", "seed": 1,
                         "target": "numpy"}}  # fmt: skip
    ok = [{"V_th": "-75 mV", "V_reset": "-80 mV"}, {"V_th": "-40 mV", "V_reset": "-45 mV"}]
    assert len(load_spec({**base, "points": ok})) == 2
    bad = [*ok, {"V_th": "-50 mV", "V_reset": "-45 mV"}]
    with pytest.raises(ModelError, match=r"points\[2\]: model 'lif': parameter V_reset = -45 mV"):
        load_spec({**base, "points": bad})


def test_a_swept_bias_is_checked_by_the_drive_rule(tmp_path):
    from biorate.errors import ProtocolError
    from biorate.sweep import load_spec

    path = _spec(tmp_path, 'bias = ["0 nA", "5 A"]', drive="poisson")
    with pytest.raises(
        ProtocolError, match=r"grid.bias = 5000000000 nA: bias must lie within \+-1 A"
    ):
        load_spec(path)


def test_a_parameter_both_fixed_and_swept_is_refused(cli, tmp_path):
    path = _spec(tmp_path, 'tau_m = ["10 ms", "20 ms"]', set_='set = { tau_m = "15 ms" }')
    code, _, err = cli("sweep", path, "--workers", "1", "--quiet", "-o", tmp_path / "out")
    assert code == 2
    one_line(err, "tau_m is both fixed by [model] set (tau_m = '15 ms') and swept by [grid]")


@pytest.mark.parametrize("name", ['"a\\nb"', '"a\\u001b[31mb"', '"tab\\there"'])
def test_a_sweep_name_with_control_characters_is_refused(cli, tmp_path, name):
    path = _spec(tmp_path, 'tau_m = ["10 ms", "20 ms"]', name=name)
    code, _, err = cli("sweep", path, "--workers", "1", "--quiet", "-o", tmp_path / "out")
    assert code == 2
    one_line(err, "name must be a non-empty string of printable characters")


# ----------------------------------------------------------------------------- B3 and D4 (deploy)
def _edited_net(tmp_path: Path, edit) -> Path:
    """A trained lif net whose embedded activation source is changed by ``edit(source)``."""
    import json

    from network_helpers import lif_activation

    X, y = _xor()
    net = RateNetwork([2, 3, 2], activation=lif_activation(), seed=0)
    net.fit(X, y, epochs=1)
    path = net.save(tmp_path / "base.npz")
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arch = json.loads(str(arrays["architecture"]))
    edit(arch["args"]["activation"]["source"])
    arrays["architecture"] = np.array(json.dumps(arch))
    out = tmp_path / "edited.npz"
    np.savez(out, **arrays)
    return out


def _set(*keys_value):
    *keys, value = keys_value

    def edit(src: dict) -> None:
        d = src
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = value

    return edit


FIELD = "architecture: args: activation: source"


@pytest.mark.parametrize(
    ("edit", "says"),
    [(_set("protocol", "sigma_V", 1000.0),
      f"{FIELD}: protocol: field 'sigma_V': sigma must lie in [0, 10 V]"),
     (_set("protocol", "dt_s", 10.0),
      f"{FIELD}: protocol: field 'dt_s': dt = 10000 ms must be shorter than the time constant"),
     (_set("model", "name", "adaptive_lif"),
      f"{FIELD}: model: field 'params': names the parameters tau_m, R_m, E_L, V_th, V_reset, "
      "t_ref, J, but model 'adaptive_lif' has"),
     (_set("model", "params", "E_L", "1e30 V"),  # refused by the load, as a curve's model is
      "parameter E_L = 1e+33 mV: a potential of a neuron model lies within +-10 V"),
     (_set("model", "params", "V_th", "-65 mV"),
      "V_reset = -60 mV must lie below V_th = -65 mV")],
)  # fmt: skip
def test_deploy_checks_the_embedded_source_as_simulate_would(cli, tmp_path, monkeypatch, edit,
                                                             says):  # fmt: skip
    """These deployed a nonsense spiking network with exit 0 (or blamed tau_syn for dt_s = 10 s)."""
    import biorate.cli.deploy

    path = _edited_net(tmp_path, edit)

    def reached(*args, **kwargs):
        raise AssertionError("deploy() started before the bad source was refused")

    monkeypatch.setattr(biorate.cli.deploy, "deploy", reached)
    report = tmp_path / "dep.json"
    code, _, err = cli("deploy", path, "--dataset", "xor", "--duration", "50ms", "--images", "4",
                       "--target", "numpy", "--method", "euler", "--report", report)  # fmt: skip
    assert code == 2
    one_line(err, f"{path}: ", says)
    assert "tau_syn" not in err and not report.exists()


def test_the_api_names_the_activation_and_the_file_when_given(tmp_path):
    import biorate as br
    from biorate.deploy import DeployError

    net = RateNetwork.load(_edited_net(tmp_path, _set("protocol", "sigma_V", 1000.0)))
    X, y = _xor(4)
    with pytest.raises(DeployError, match="activation 'lif': source: protocol: field 'sigma_V'"):
        br.deploy(net, X, y, target="numpy", method="euler", progress=False)
    with pytest.raises(DeployError, match="n.npz: architecture: args: activation: source: proto"):
        br.deploy(net, X, y, target="numpy", method="euler", progress=False, network_file="n.npz")


@pytest.mark.parametrize("where", ["grid", "protocol"])
def test_a_noise_the_model_cannot_take_is_refused_before_any_point(tmp_path, where):
    """A model whose [drive] names no noise variable: a swept sigma > 0 (or the protocol's own)
    used to fail at run time, point by point; Model.check_drive, which measure_fi calls, now
    refuses the spec."""
    from biorate.errors import ModelError
    from biorate.sweep import load_spec

    shipped = Path(__file__).parents[1] / "models" / "neurons" / "lif.toml"
    lines = [ln for ln in shipped.read_text(encoding="utf-8").splitlines()
             if not ln.startswith(("noise = ", "theory = "))]  # fmt: skip
    model = tmp_path / "quiet_lif.toml"
    model.write_text("\n".join(lines).replace('name = "lif"', 'name = "quiet_lif"', 1) + "\n",
                     encoding="utf-8")  # fmt: skip
    protocol = {"drive": "current", "current": "0nA:1nA:6", "duration": "50 ms",
                "transient": "10 ms", "trials": 2, "dt": "0.1 ms", "seed": 1, "target": "numpy"}  # fmt: skip
    spec = {"schema": 1, "name": "t", "measure": "fi", "model": {"name": str(model)},
            "protocol": protocol}  # fmt: skip
    if where == "grid":
        spec["grid"] = {"sigma": ["0 mV", "2 mV"]}
        says = r"grid.sigma = 2 mV: model 'quiet_lif' names no noise variable"
    else:
        spec["grid"], protocol["sigma"] = {"tau_m": ["10 ms", "20 ms"]}, "2 mV"
        says = r"model 'quiet_lif' names no noise variable"
    with pytest.raises(ModelError, match=says):
        load_spec(spec)
    spec["grid"], protocol["sigma"] = {"tau_m": ["10 ms", "20 ms"]}, "0 mV"
    assert len(load_spec(spec)) == 2  # without noise the model is fine


def test_a_key_given_twice_in_a_network_file_is_refused(tmp_path):
    """JSON keeps the last of two equal keys silently; a network file's architecture refuses it,
    as every other JSON reader of biorate does."""
    import json

    X, y = _xor()
    net = RateNetwork([2, 3, 2], seed=0)
    net.fit(X, y, epochs=1)
    with np.load(net.save(tmp_path / "n.npz"), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    text = json.dumps(json.loads(str(arrays["architecture"])))
    assert '"seed": 0' in text
    arrays["architecture"] = np.array(text.replace('"seed": 0', '"seed": 0, "seed": 5', 1))
    np.savez(tmp_path / "twice.npz", **arrays)
    with pytest.raises(NetworkError, match="entry 'architecture': key 'seed' is given twice"):
        RateNetwork.load(tmp_path / "twice.npz")
