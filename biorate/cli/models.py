"""``biorate models``: list shipped and user models."""

from __future__ import annotations

import argparse

from ..models import list_models, load_model


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list shipped and user models")
    p.add_argument("--params", action="store_true", help="show each model's parameters")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    for m in list_models(args.models):
        flag = "  (shadowed)" if m["shadowed"] else ""
        print(f"{m['name']:<16} {m['kind']:<8} {m['description']}{flag}")
        print(f"{'':<16} {m['path']}")
        if args.params and m["kind"] != "?" and not m["shadowed"]:
            model = load_model(m["name"], args.models)
            print(f"{'':<16} " + ", ".join(f"{k}={v}" for k, v in model.params_strings().items()))
    return 0
