"""Machines search for activation functions: regularized evolution over formulas (issue 15).

What it shows
-------------
``biorate search`` evolves formulas built from unary and binary units (``x, -x, |x|, x^2``, exp,
sin, tanh, sigmoid, erf, max, min, sigmoid(a)*b, a blend...; Ramachandran, Zoph & Le 2017) by
regularized evolution (Real et al. 2019): a population of candidates, each child a mutation of the
best of a random sample, the oldest member dying. Every formula is parsed by a small grammar,
never ``eval``-ed; its derivative comes from the composition (chain and product rules), and a
formula that overflows, is not finite or is constant on z in [-10, 10] is rejected with the reason.

- First, the planted target (``examples/searches/planted_swish.toml``): the fitness is minus the
  largest distance to swish, x*sigmoid(x), on z in [-5, 5]. The search finds a formula equal to
  it (max error < 1e-6) within its budget of 1000 evaluations, in seconds, in this process.
- Then (without ``--quick``) the real objective (``examples/searches/formula.toml``): the median
  validation accuracy over 3 seeds of a 64-32-10 network on digits with the formula as its hidden
  activation, minus 0.002 per node of the formula, on a local Dask cluster; the validation images
  are split off the training set, the test set is never seen.

The figure: the top formulas and their derivatives, and the fitness of every evaluation with the
best so far. Each evaluation is a file under the search's folder: run the script twice, and the
second run computes nothing (a killed search computes only what is missing).

Citations
---------
Ramachandran, Zoph & Le (2017) Searching for activation functions, arXiv:1710.05941.
Real, Aggarwal, Huang & Le (2019) Regularized evolution for image classifier architecture search,
AAAI 33:4780-4789, doi:10.1609/aaai.v33i01.33014780.

Run:  python examples/09_search.py [--quick] [--out DIR] [--workers N] [--scheduler ADDR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from biorate import Activation
from biorate.plotting import save_figure
from biorate.plotting.search import plot_search
from biorate.search import run_search

SEARCHES = Path(__file__).resolve().parent / "searches"


def main(argv: list[str] | None = None) -> Path:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the planted search only (for tests)")
    ap.add_argument("--out", default=".", help="folder for the figure and the searches' files")
    ap.add_argument("--workers", type=int, default=None, help="local worker processes")
    ap.add_argument("--scheduler", default=None, help="address of a running Dask scheduler")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    planted = run_search(SEARCHES / "planted_swish.toml", out / "planted_swish", progress=False)
    best = planted.best
    z = np.linspace(-5, 5, 2001)
    error = np.max(np.abs(Activation.load(out / "planted_swish" / "best.json")(z)
                          - Activation.builtin("swish")(z)))  # fmt: skip
    print(f"planted swish: best {best['expression']!r} (evaluation {best['index']}), max error "
          f"{error:.2g} on z in [-5, 5]; {planted.computed} evaluated, {planted.reused} reused")  # fmt: skip
    result = planted
    if not args.quick:
        where = {"scheduler": args.scheduler} if args.scheduler else {"workers": args.workers}
        result = run_search(SEARCHES / "formula.toml", out / "formula_digits", **where)
        print(f"digits: {result.computed} evaluated, {result.reused} reused, "
              f"{result.elapsed_s:.0f} s; top 5:")  # fmt: skip
        for r in [r for r in result.leaderboard if r["status"] == "ok"][:5]:
            print(f"  fitness {r['fitness']:.4f}  validation {r['median']:.4f}  {r['expression']}")
    fig = plot_search(result.leaderboard)
    fig.suptitle(f"search {result.spec.name}: top formulas and fitness over evaluations")
    fig.tight_layout()
    path = save_figure(fig, out / "09_search.png")
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
