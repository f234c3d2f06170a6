def test_example_01_quick(tmp_path, run_example):
    run_example("01_fi_curves.py", "--quick", "--out", str(tmp_path), "--target", "numpy")
    assert (tmp_path / "01_fi_curves.png").stat().st_size > 20_000
