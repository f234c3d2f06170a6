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
        br.deploy(net, np.full((2, 2), 1e30), [0, 1], target="numpy")


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
