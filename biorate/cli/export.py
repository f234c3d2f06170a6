"""``biorate export nir NET.npz -o NET.nir``: the spiking network that ``deploy`` builds, written
in the Neuromorphic Intermediate Representation (see :mod:`biorate.deploy.nir`)."""

from __future__ import annotations

import argparse

from ..deploy.nir import FORMS, require_nir, to_nir, write_nir
from ..network import RateNetwork
from .common import NIR, add_quiet, check_outputs

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write a trained network in another format (nir)")
    p.add_argument("format", choices=["nir"], help="nir: the deployed spiking network in NIR")
    p.add_argument("network", help="network file written by 'biorate train' (.npz)")
    p.add_argument("-o", "--output", required=True, help="file to write (.nir, HDF5)")
    p.add_argument("--tau-syn", default="5ms", help="synaptic time constant (default 5ms)")
    p.add_argument("--dt", default=None,
                   help="time step recorded (and used by --form normalized); default: the "
                        "activation curve's step, else 0.1ms")  # fmt: skip
    p.add_argument("--form", default="physical", choices=list(FORMS),
                   help="physical: SI units as NIR defines them; normalized: v_leak = v_reset = "
                        "0, r = tau_mem/dt, w_in = tau_syn/dt (what snnTorch's import reads)")  # fmt: skip
    add_quiet(p)  # nothing to silence (no progress), accepted as every command accepts it
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Check the output and the network first (one line and exit 2), then write."""
    check_outputs([(args.output, "--output", NIR)], inputs=[(args.network, "the input network")])
    require_nir()
    net = RateNetwork.load(args.network)
    from ..deploy.mapping import activation_field, spiking_origin

    origin = spiking_origin(net.activation_, activation_field(args.network))
    check_outputs([(args.output, "--output", NIR)],
                  inputs=[(origin.model.path, "the network's model file")])  # fmt: skip
    graph = to_nir(
        net, tau_syn=args.tau_syn, dt=args.dt, form=args.form, network_file=args.network
    )  # errors name the file, as deploy's
    write_nir(graph, args.output)
    n_lif = sum(type(n).__name__ == "CubaLIF" for n in graph.nodes.values())
    print(f"{args.network}: {net!r} -> {args.output} (NIR, {n_lif} CubaLIF populations, "
          f"{args.form} form; refractory period t_ref = {graph.metadata['t_ref_s'] * 1e3:g} ms "
          "recorded in metadata, not modelled by NIR)")  # fmt: skip
    return 0
