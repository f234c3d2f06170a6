"""The release-saturation example runs in its quick mode and writes its figure."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "02_release_saturation.py"


def test_release_saturation_example_quick(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("example_02_release_saturation", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert "doi:10.1073/pnas.94.2.719" in module.__doc__  # the header cites its sources
    path = module.main(["--quick", "--out", str(tmp_path / "figs")])
    assert path == tmp_path / "figs" / "release_saturation.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 20_000
    assert f"wrote {path}" in capsys.readouterr().out
    assert [p.name for p in path.parent.iterdir()] == ["release_saturation.png"]
