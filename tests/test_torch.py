"""Activation.to_torch: values and gradients against the NumPy activation, torch's gradcheck, dtypes,
bad input, the message without torch, ``import biorate`` without torch, and example 08.

The tests that need PyTorch skip, saying so, when it is not installed (``pip install
biorate[torch]``; the ``test`` extra installs it)."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
from test_activation import fitted

from biorate.activation import BUILTINS, Activation, get_activation, list_activations
from biorate.errors import BiorateError, DataError
from biorate.forms import FORMS

NO_TORCH = "PyTorch not installed (pip install biorate[torch]): to_torch not tested"

SHIPPED = [get_activation(n) for n in list_activations() if n not in BUILTINS]
# every built-in, a leaky_relu off its default, every shipped fitted activation, and a fitted
# activation of each form no shipped one has (the parameters of test_activation.py)
# (units that learn parameters or take a maximum over pieces are refused: see the test below)
LEARNED = ("prelu", "swish_learned", "maxout")
ACTS = [get_activation(n) for n in BUILTINS if n not in LEARNED]
ACTS += [Activation.builtin("leaky_relu", alpha=0.2)]
ACTS += SHIPPED + [fitted(f) for f in FORMS if f not in {a.form for a in SHIPPED}]
IDS = [f"{a.name}{'*' if a.is_fitted else ''}{a.params.get('alpha', '')}" for a in ACTS]


@pytest.fixture
def torch():
    return pytest.importorskip("torch", reason=NO_TORCH)


def kinks(act: Activation) -> list[float]:
    """The z of each corner or infinite slope of g: 0 for the built-ins (relu's, leaky_relu's),
    a fitted curve's threshold x_th (lif, threshold_linear; soft_lif's and softplus's rounded
    corner) or hill's x = 0."""
    if not act.is_fitted:
        return [0.0]
    x = act.params.get("x_th", 0.0)  # hill: x = 0
    return [(x - act.x_offset) / act.x_scale]


def smooth_points(act: Activation) -> np.ndarray:
    """z in [-4, 4], at least 0.15 from any kink of ``act``."""
    z = np.linspace(-4.0, 4.0, 81) + 0.013  # off the grid's round numbers
    return z[np.all([abs(z - k) >= 0.15 for k in kinks(act)], axis=0)]


def test_every_form_is_covered():
    assert {a.form for a in ACTS if a.is_fitted} == set(FORMS)
    assert {a.form for a in ACTS if not a.is_fitted} | set(LEARNED) == set(BUILTINS)
    assert {"lif", "lif_noise"} <= {a.name for a in SHIPPED}


@pytest.mark.parametrize("name", LEARNED)
def test_units_with_learned_parameters_or_pieces_are_refused(name):
    with pytest.raises(BiorateError, match=f"{name} (learns its|takes the maximum)"):
        get_activation(name).to_torch()


@pytest.mark.parametrize("act", ACTS, ids=IDS)
def test_values_and_gradients_are_the_numpy_ones(torch, act):
    """float64: forward is ``__call__`` and the gradient ``derivative``, to 1e-12 (the module
    computes through them, so they are equal), over z with kinks, |z| = 1e6 and a 2-D shape."""
    z = np.concatenate([np.linspace(-6, 6, 97), [0.0, -1e6, 1e6], kinks(act)])
    z = np.resize(z, (4, len(z) // 4 + 1))
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    g = act.to_torch()(zt)
    assert g.shape == zt.shape and g.dtype == torch.float64
    np.testing.assert_allclose(g.detach().numpy(), act(z), rtol=0, atol=1e-12)
    w = np.random.default_rng(0).normal(size=z.shape)  # a weighted sum: grad = w * g'(z)
    (g * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(zt.grad.numpy(), w * act.derivative(z), rtol=1e-15, atol=1e-12)


@pytest.mark.parametrize("act", ACTS, ids=IDS)
def test_gradcheck_away_from_kinks(torch, act):
    z = torch.tensor(smooth_points(act), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(act.to_torch(), (z,))


def test_float32_and_the_dtype_argument(torch):
    act = get_activation("lif_noise")
    z = np.linspace(-3, 3, 25)
    z32 = torch.tensor(z, dtype=torch.float32, requires_grad=True)
    g = act.to_torch()(z32)
    assert g.dtype == torch.float32
    want = act(z32.detach().double().numpy())  # computed in float64, rounded once
    np.testing.assert_array_equal(g.detach().numpy(), want.astype(np.float32))
    g.sum().backward()
    assert z32.grad.dtype == torch.float32
    g64 = act.to_torch(dtype=torch.float64)(z32)
    assert g64.dtype == torch.float64
    np.testing.assert_array_equal(g64.detach().numpy(), want)
    assert act.to_torch()(torch.arange(3)).dtype == torch.get_default_dtype()  # integers
    assert act.to_torch()(torch.tensor(0.5, dtype=torch.float64)).shape == ()  # 0-d


def test_in_a_model_on_any_device(torch):
    """A layer of an nn.Sequential; on a GPU when there is one (the values go through the CPU)."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), get_activation("lif").to_torch()).to(device)
    x = torch.ones(2, 3, device=device)
    out = model(x)
    assert out.device.type == device and out.dtype == torch.float32
    out.sum().backward()
    assert model[0].weight.grad.device.type == device
    assert "ActivationModule(lif)" in repr(model)


def test_double_backward_is_refused(torch):
    z = torch.tensor([0.3, 1.2], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(get_activation("sigmoid").to_torch()(z).sum(), z, create_graph=True)
    with pytest.raises(RuntimeError):
        g.sum().backward()


def test_bad_input(torch):
    module = get_activation("sigmoid").to_torch()
    for bad in (torch.tensor([True]), torch.tensor([1 + 1j]), np.ones(2), [0.5]):
        with pytest.raises(DataError):
            module(bad)
    for bad in (torch.int64, "float32", np.float64):
        with pytest.raises(DataError, match="dtype"):
            get_activation("sigmoid").to_torch(dtype=bad)


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_import_biorate_never_imports_torch():
    code = ("import sys, biorate, biorate.activation, biorate.network\n"
            "biorate.activation.get_activation('lif')(0.5)\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n"
            "print('ok')")  # fmt: skip
    run = run_python(code)
    assert run.stdout.strip() == "ok", run.stderr[-2000:]


def test_without_torch_a_one_line_biorate_error():
    """torch made unimportable (``sys.modules['torch'] = None``): a TorchMissingError, which is a
    BiorateError and an ImportError, in one line naming ``pip install biorate[torch]``."""
    code = ("import sys; sys.modules['torch'] = None\n"
            "from biorate.activation import get_activation, TorchMissingError\n"
            "from biorate.errors import BiorateError\n"
            "try:\n"
            "    get_activation('lif').to_torch()\n"
            "except TorchMissingError as exc:\n"
            "    assert isinstance(exc, BiorateError) and isinstance(exc, ImportError)\n"
            "    print(exc)")  # fmt: skip
    run = run_python(code)
    assert run.returncode == 0, run.stderr[-2000:]
    (line,) = run.stdout.splitlines()
    assert "pip install biorate[torch]" in line and "PyTorch" in line


def test_example_08_quick(torch, run_example, tmp_path):
    """``--quick`` (8 epochs, seed 0): both networks train, print their test accuracy and the figure
    is written. Measured
    over seeds 0-19 in --quick mode (torch 2.13.0 CPU): the fitted LIF 0.892 +- 0.012 (min 0.869),
    torch.sigmoid 0.718 +- 0.029 (min 0.653); the floors 0.85 and 0.60 are more than 3 std below
    the means (0.855 and 0.630)."""
    proc = run_example("08_torch_mlp.py", "--quick", "--out", tmp_path)
    acc = dict(re.findall(r"^(\w+)\s+test accuracy (\d\.\d+)", proc.stdout, re.M))
    assert set(acc) == {"lif", "sigmoid"}, proc.stdout
    assert float(acc["lif"]) >= 0.85, proc.stdout
    assert float(acc["sigmoid"]) >= 0.60, proc.stdout
    assert (tmp_path / "08_torch_mlp.png").stat().st_size > 20_000
