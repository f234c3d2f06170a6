import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_example_09_quick(tmp_path, run_example):
    proc = run_example("09_search.py", "--quick", "--out", tmp_path)
    assert (tmp_path / "09_search.png").stat().st_size > 20_000
    assert float(re.search(r"max error (\S+) on", proc.stdout).group(1)) < 1e-6, proc.stdout
    again = run_example("09_search.py", "--quick", "--out", tmp_path)
    assert "0 evaluated" in again.stdout


def test_example_search_specs_are_valid():
    from biorate.search import load_search_spec

    specs = sorted((ROOT / "examples" / "searches").glob("*.toml"))
    assert len(specs) >= 2
    for path in specs:  # each evolves for generations beyond its first population
        spec = load_search_spec(path)
        assert spec.budget >= 4 * spec.population, path
