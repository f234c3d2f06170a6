"""Issue 18, network and data: nonsense that used to train or score with exit 0 is refused with
one line (CLI, exit 2, outputs untouched) or a specific BiorateError (API), before any work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_cli_bad_input import _mnist, no_work, one_line  # noqa: F401  (fixture)

from biorate.datasets import load_dataset
from biorate.errors import DataError, NetworkError
from biorate.network import RateNetwork


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"init_std": 1e300}, "init_std must be a positive number up to 100"),
     ({"init_std": 0.0}, "init_std must be a positive number"),
     ({"derivative_offset": 1e300}, "derivative_offset must be in \\[0, 10\\]"),
     ({"loss": "squared_error", "targets": (0.5, 0.5)}, "targets \\(low, high\\) need low < high"),
     ({"loss": "sigmoid_ce", "targets": (0.85, 0.15)}, "need low < high"),
     ({"momentum": 1.0}, "momentum must be in \\[0, 1\\)"),
     ({"momentum": -0.5}, "momentum must be in \\[0, 1\\)")],
)  # fmt: skip
def test_training_options_outside_their_domain_are_refused(kwargs, match):
    with pytest.raises(NetworkError, match=match):
        RateNetwork([2, 4, 2], **kwargs)


def test_the_edges_of_the_domains_are_accepted():
    """The classic mitigations stay available: the naive std 1.0 (and up to 100), Fahlman's 0.1
    and the 0.15/0.85 targets."""
    RateNetwork([2, 4, 2], init_std=100.0, derivative_offset=10.0, momentum=0.0)
    RateNetwork([2, 4, 2], loss="squared_error", targets=(0.15, 0.85), derivative_offset=0.1)


@pytest.mark.parametrize("option", ["--init-std=1e300", "--derivative-offset=1e300",
                                    "--targets=0.5,0.5"])  # fmt: skip
def test_cli_training_options_refused_before_training(cli, tmp_path, option, no_work):  # noqa: F811
    out = tmp_path / "net.npz"
    out.write_bytes(b"keep me")
    extra = ["--loss", "squared_error"] if "targets" in option else []
    code, _, err = cli("train", "--dataset", "xor", option, *extra, "--quiet", "-o", out)
    assert code == 2
    one_line(err, option.split("=")[0].lstrip("-").replace("-", "_"))
    assert out.read_bytes() == b"keep me"


def test_complex_inputs_are_refused_not_made_real():
    net = RateNetwork([2, 4, 2], seed=0)
    X = np.array([[1 + 1j, 0], [0, 1]])
    with pytest.raises(DataError, match="X is complex"):
        net.fit(X, [0, 1], epochs=1)
    net.initialize()
    with pytest.raises(DataError, match="X is complex"):
        net.predict(X)


def test_idx_splits_with_differently_shaped_images_are_refused(tmp_path):
    """4x4 training images and 2x8 test images have the same pixel count; only the shapes say
    they are different data."""
    from biorate.datasets import write_idx

    folder = _mnist(tmp_path / "m", np.arange(30) % 3, np.arange(10) % 3)
    write_idx(folder / "t10k-images-idx3-ubyte", np.zeros((10, 2, 8), np.uint8))
    with pytest.raises(DataError, match="train images are 4x4 but test images 2x8"):
        load_dataset(f"idx:{folder}")


def test_idx_with_one_class_is_refused(tmp_path):
    folder = _mnist(tmp_path / "m", np.zeros(30, int), np.zeros(10, int))
    with pytest.raises(DataError, match="one class"):
        load_dataset(f"idx:{folder}")


def _idx_net(tmp_path: Path, classes: int) -> tuple[Path, Path]:
    folder = _mnist(tmp_path / f"m{classes}", np.arange(30) % classes, np.arange(10) % classes)
    d = load_dataset(f"idx:{folder}")
    net = RateNetwork([16, 4, classes], seed=0)
    net.fit(d.X_train, d.y_train, epochs=1)
    return net.save(tmp_path / f"net{classes}.npz"), folder


@pytest.mark.parametrize("command", ["evaluate", "deploy"])
def test_a_net_is_not_scored_on_a_dataset_with_another_number_of_classes(cli, tmp_path, command):
    """A 3-class net scored on a 2-class set used to print an accuracy of the wrong task."""
    net3, _ = _idx_net(tmp_path, 3)
    _, folder2 = _idx_net(tmp_path, 2)
    report = tmp_path / "r.json"
    report.write_text("keep")
    code, _, err = cli(command, net3, "--dataset", f"idx:{folder2}", "--report", report, "--quiet")
    assert code == 2
    one_line(err, "takes 16 features and 3 classes", "has 16 and 2")
    assert report.read_text() == "keep"


def test_deploy_duration_and_durations_together_are_refused(cli, tmp_path, no_work):  # noqa: F811
    code, _, err = cli("deploy", tmp_path / "absent.npz", "--duration", "0.2s", "--durations",
                       "50ms,100ms", "--quiet")  # fmt: skip
    assert code == 2
    one_line(err, "--duration", "--durations", "not both")
