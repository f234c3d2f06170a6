"""The report of a trained network on a data set: accuracies, losses, epochs, the training history,
the architecture and provenance (``biorate train --report``, ``biorate evaluate --report``)."""

from __future__ import annotations

from ..datasets import Dataset
from ..io import provenance
from .rate_network import RateNetwork

__all__ = ["network_report"]


def network_report(net: RateNetwork, data: Dataset, command: str | None = None) -> dict:
    """The report JSON of ``net`` on ``data`` (a :class:`~biorate.datasets.Dataset`: train and
    test splits); ``command`` is the command line recorded in the provenance."""
    tr = net.evaluate(data.X_train, data.y_train)
    te = net.evaluate(data.X_test, data.y_test)
    hist = net.history_.to_dict() if hasattr(net, "history_") else None
    return {"kind": "network_report", "schema": 1, "dataset": data.name,
            "n_train": int(data.X_train.shape[0]), "n_test": int(data.X_test.shape[0]),
            "train_accuracy": tr["accuracy"], "test_accuracy": te["accuracy"],
            "train_loss": tr["loss"], "test_loss": te["loss"],
            "epochs": hist["epochs"] if hist else None,
            "stop_reason": hist["stop_reason"] if hist else None, "history": hist,
            "network": {k: v for k, v in net.architecture().items() if k != "provenance"},
            "provenance": provenance(command)}  # fmt: skip
