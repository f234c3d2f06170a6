"""Fuzzing what a user can write into a model file or a sweep spec (issue 18): a valid file with
one field replaced by junk either loads or raises the right BiorateError, never another exception;
plus one regression case per family. Nothing here simulates: every refusal comes before Brian2."""

import copy
import tomllib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import biorate as br
from biorate.errors import BiorateError, ModelError, ProtocolError
from biorate.models import Model, shipped_models_dir
from biorate.sweep import SpecError, load_spec

FUZZ = settings(derandomize=True, deadline=None, max_examples=150,
                suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
SHIPPED = sorted((shipped_models_dir()).glob("*/*.toml"))
DATA = {p.stem: tomllib.loads(p.read_text(encoding="utf-8")) for p in SHIPPED}
INJECTIONS = ["v = 0*mV\nv", "_group_attribute_access_active", "__class__", "v; v = 0*mV",
              "1e400 ms", "-5 ms", "0 ms", "nan ms", "inf", "kA^200", "\x00", "v\r", "é", "ｖ",
              "__import__('os').system('true')", "", " ", "v#", "1" * 500, "10ms:30ms:100000000"]  # fmt: skip
JUNK = st.one_of(
    st.booleans(), st.integers(), st.just(10**400), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.sampled_from(INJECTIONS), st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
    st.lists(st.dictionaries(st.sampled_from(["target", "x"]), st.text(max_size=3)), max_size=2),
)  # fmt: skip


def _paths(data, prefix=()):
    """Every key path of a nested table (list items included), tables and leaves."""
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for key, value in items:
        yield (*prefix, key)
        if isinstance(value, dict | list):
            yield from _paths(value, (*prefix, key))


def _replace(data, path, value):
    out = copy.deepcopy(data)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


MODEL_CASES = [(name, path) for name, d in DATA.items() for path in _paths(d)]


@FUZZ
@given(case=st.sampled_from(MODEL_CASES), junk=JUNK)
def test_model_with_one_junk_field_loads_or_raises_model_error(case, junk):
    name, path = case
    try:
        Model.from_dict(_replace(DATA[name], path, junk))
    except BiorateError as exc:
        assert "\n" not in str(exc)[:300] or "\\n" in repr(exc)


@FUZZ
@given(param=st.sampled_from(["tau_m", "R_m", "E_L", "t_ref", "J"]), junk=JUNK)
def test_with_params_junk_is_a_biorate_error(param, junk):
    lif = br.load_model("lif")
    try:
        lif.with_params(**{param: junk})
    except BiorateError:
        pass


@FUZZ
@given(cut=st.integers(0, 2000), byte=st.binary(min_size=0, max_size=3))
def test_truncated_or_corrupted_model_file(tmp_path_factory, cut, byte):
    text = SHIPPED[0].read_bytes()
    path = tmp_path_factory.mktemp("m") / "x.toml"
    path.write_bytes(text[:cut] + byte + text[cut + len(byte) :])
    try:
        Model.from_toml(path)
    except BiorateError:
        pass


SPEC = {"schema": 1, "name": "t", "measure": "fi", "model": {"name": "lif", "set": {"V_th": "-50 mV"}},
        "grid": {"tau_m": "10ms:30ms:3", "sigma": ["1 mV", "2 mV"]},
        "protocol": {"drive": "current", "current": "0nA:0.5nA:6", "duration": "100 ms",
                     "transient": "10 ms", "trials": 2, "dt": "0.1 ms", "seed": 1,
                     "target": "numpy"},
        "fit": {"forms": ["sigmoid"]}}  # fmt: skip


@FUZZ
@given(path=st.sampled_from(list(_paths(SPEC))), junk=JUNK)
def test_sweep_spec_with_one_junk_field_loads_or_raises(path, junk):
    try:
        load_spec(_replace(SPEC, path, junk))
    except BiorateError:
        pass


# --- one regression case per family of the issue ------------------------------------------------
LIF = (shipped_models_dir() / "neurons" / "lif.toml").read_text()


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [('target = "v"', 'target = "v = 0*mV\\nv"', r"poisson\[0\]: field 'target': .* not a variable"),
     ('initial = { v = "E_L" }', "initial = { _group_attribute_access_active = false }",
      "initial: field '_group_attribute_access_active': not a variable"),
     ('tau_m = "20 ms"', 'tau_m = "1e400 ms"', "tau_m: '1e400 ms' is not a finite quantity"),
     ('tau_m = "20 ms"', 'tau_m = "-20 ms"', "tau_m = -20 ms: a time constant must be > 0"),
     ('R_m = "100 Mohm"', 'R_m = "0 ohm"', "a resistance must be > 0"),
     ('t_ref = "2 ms"', 't_ref = "-2 ms"', "a time must be >= 0"),
     ('equations = """', 'equations = 5\nx = """', r"\[neuron\]: field 'equations': expected a string"),
     ('threshold = "v > V_th"', 'threshold = "v > V_th; v = 0"', "'threshold': expected one expression"),
     ("n_inputs = 1000", 'n_inputs = "1000"', "'n_inputs': expected a whole number"),
     ('current = "I"', 'current = "J"', "'current': 'J' is not a variable")],
)  # fmt: skip
def test_model_file_regressions(tmp_path, old, new, match):
    assert old in LIF
    path = tmp_path / "lif.toml"  # a model file is named as its model
    path.write_text(LIF.replace(old, new, 1))
    with pytest.raises(ModelError, match=match):
        br.load_model(path)


def test_unreadable_model_files_are_model_errors(tmp_path, cli):
    (tmp_path / "neurons").mkdir()
    (tmp_path / "neurons" / "latin.toml").write_bytes(b'name = "caf\xe9"\n')
    (tmp_path / "neurons" / "dir.toml").mkdir()
    with pytest.raises(ModelError, match="not a UTF-8 text file"):
        br.load_model(tmp_path / "neurons" / "latin.toml")
    with pytest.raises(ModelError, match="is a folder"):
        br.load_model(tmp_path / "neurons" / "dir.toml")
    code, out, err = cli("--models", tmp_path, "models")
    assert code == 0 and "INVALID" in out and "Traceback" not in err
    code, _, err = cli("simulate", "fi", "--model", tmp_path / "neurons" / "latin.toml",
                       "--current", "0nA:1nA:3", "-o", tmp_path / "a.json")  # fmt: skip
    assert code == 2 and err.count("\n") == 1 and "not a UTF-8" in err


def test_with_params_domains():
    lif = br.load_model("lif")
    with pytest.raises(ModelError, match="tau_m = -5 ms: a time constant must be > 0"):
        lif.with_params(tau_m="-5 ms")
    assert lif.with_params(t_ref="0 ms")["t_ref"] == 0  # no refractory period is allowed


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [(dict(trials=10**9), "neuron"), (dict(dt="1 ns", duration="1000 s"), "neuron-steps"),
     (dict(current="0nA:0.5nA:10000000000"), "COUNT")],
)  # fmt: skip
def test_work_that_cannot_finish_is_refused_up_front(kwargs, match):
    kw = {"current": "0nA:0.5nA:3", "target": "numpy", "progress": False, **kwargs}
    with pytest.raises(BiorateError, match=match):
        br.measure_fi("lif", **kw)


def test_work_limit_can_be_raised(monkeypatch):
    from biorate.spiking.protocol import check_size

    with pytest.raises(ProtocolError, match="BIORATE_MAX_NEURON_STEPS"):
        check_size(10, 10, "x", steps=1e11)
    monkeypatch.setenv("BIORATE_MAX_NEURON_STEPS", "1e14")
    with pytest.raises(ProtocolError, match="BIORATE_MAX_SIM_SECONDS"):  # then the time limit
        check_size(10, 10, "x", steps=1e11)
    monkeypatch.setenv("BIORATE_MAX_SIM_SECONDS", "1e9")
    check_size(10, 10, "x", steps=1e11)


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [({"grid": {"tau_m": "10ms:30ms:1000", "E_L": "-70mV:-60mV:1000"}}, SpecError,
      "1,000,000 points"),
     ({"grid": {"tau_m": "-10ms:30ms:3"}}, SpecError, "a time constant must be > 0"),
     ({"model": {"name": "lif", "set": {"tau_m": "-1 ms"}}}, ModelError, "time constant"),
     ({"fit": {"forms": 5}}, SpecError, "fit.forms"),
     ({"protocol": {**SPEC["protocol"], "trials": 10**9}}, ProtocolError, "neuron"),
     ({"protocol": {**SPEC["protocol"], "dt": "1 ns", "duration": "1000 s"}}, ProtocolError,
      "neuron-steps"),
     ({"protocol": {**SPEC["protocol"], "dt": "1e-300 s"}}, ProtocolError, "at least 1 ns")],
)  # fmt: skip
def test_sweep_spec_regressions(change, error, match):
    with pytest.raises(error, match=match):
        load_spec({**SPEC, **change})


def test_bogus_method_and_bad_equations_are_one_line_model_errors(tmp_path):
    pytest.importorskip("brian2")
    from biorate.spiking.brian import neuron_group

    with pytest.raises(ModelError, match="'bogus' is not an integration method Brian2 knows"):
        neuron_group({"method": "bogus"}, 1, "dv/dt = -v/(10*ms) : 1", threshold=None,
                     reset=None, namespace={}, dt_s=1e-4, name="biorate_fuzz")  # fmt: skip
    path = tmp_path / "lif.toml"
    path.write_text(LIF.replace("I : amp\n", "I : amp\nI : volt\n", 1))
    with pytest.raises(ModelError, match="Duplicate definition") as info:
        br.measure_fi(br.load_model(path), current="0nA:1nA:2", duration="1 ms",
                      transient="0 ms", trials=1, target="numpy", progress=False)  # fmt: skip
    assert "\n" not in str(info.value)


def test_the_sweep_point_limit_can_be_raised(monkeypatch):
    """A grid beyond the point limit is refused before any point is built, naming the count and
    the variable that raises the limit; a user who means it sets BIORATE_MAX_SWEEP_POINTS."""
    monkeypatch.setenv("BIORATE_MAX_SWEEP_POINTS", "5")
    with pytest.raises(
        SpecError, match=r"3 \(tau_m\) x 2 \(sigma\) = 6 points .* BIORATE_MAX_SWEEP"
    ):
        load_spec(SPEC)
    monkeypatch.setenv("BIORATE_MAX_SWEEP_POINTS", "6")
    assert len(load_spec(SPEC).points) == 6
    monkeypatch.setenv("BIORATE_MAX_SWEEP_POINTS", "many")
    with pytest.raises(SpecError, match="BIORATE_MAX_SWEEP_POINTS must be a positive number"):
        load_spec(SPEC)
