"""The training stage's unit of work (:func:`train_one`), in a module of its own so that the
pipeline's worker processes import only the network code (not Brian2, SciPy or matplotlib, which
the pipeline's other stages need): a spawned worker starts in ~0.2 s instead of ~1.4 s."""

from __future__ import annotations

import time
from pathlib import Path

from .datasets import load_dataset
from .network import RateNetwork

__all__ = ["train_one", "worker_init"]


def train_one(job: tuple) -> dict:
    """One net of the training stage (run in a worker process when there are several): trained on
    digits, saved as ``net_<key>.npz`` (and its history plotted for the feedforward lif_noise net);
    returns its row of results. Same seed, same net, whichever process trains it."""
    key, act_name, act, conn, hidden, epochs, seed, out = job
    data = load_dataset("digits")
    t0 = time.perf_counter()
    net = RateNetwork([data.n_features, *hidden, data.n_classes], activation=act,
                      connectivity=conn, seed=seed)  # fmt: skip
    hist = net.fit(data.X_train, data.y_train, epochs=epochs)
    elapsed = time.perf_counter() - t0
    net.save(Path(out) / f"net_{key}.npz")
    if conn == "feedforward" and act_name.startswith("lif_noise"):
        from .plotting.training import plot_history  # matplotlib: for this one figure only

        plot_history(hist, str(Path(out) / f"train_{key}.png"), title=key)
    return {"activation": act_name, "connectivity": conn,
            "test_accuracy": net.evaluate(data.X_test, data.y_test)["accuracy"],
            "train_accuracy": net.evaluate(data.X_train, data.y_train)["accuracy"],
            "epochs": hist.epochs, "stop_reason": hist.stop_reason,
            "first_layer_grad_norm": next(iter(hist.grad_norm.values()))[0],
            "saturated_fraction": hist.saturated_fraction[-1], "seconds": elapsed}  # fmt: skip


def worker_init() -> None:
    """A training worker's initializer: Ctrl-C is the parent's to handle (it terminates the
    workers: one line, no worker tracebacks), and one BLAS thread per process (the nets are small;
    two processes on two cores beat one process with two threads)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # scikit-learn's dependency; without it the workers share the cores
        return
    threadpool_limits(1)
