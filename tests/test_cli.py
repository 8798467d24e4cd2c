"""The tlsviz command line: a small real run and clear errors for bad options."""

import pandas as pd
import pytest

from tlsviz.cli import main


def test_search_writes_a_catalogue(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["search", "--minima", "1", "--tries", "30", "--burn-in", "10", "--seed", "3",
                 "--out", str(out)]) == 0
    minima = pd.read_parquet(out / "minima.parquet")
    assert list(minima.is_id) == [0] and minima.tries[0] == 30
    dwps = pd.read_parquet(out / "dwps.parquet")
    assert {"asymmetry", "barrier", "d_mwrp", "central_type", "count"} <= set(dwps.columns)
    assert str(out) in capsys.readouterr().out


def test_minima_command(capsys):
    assert main(["minima", "--minima", "1"]) == 0
    assert "IS 0: E = " in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["search", "--tries", "0"], "--tries: expected a number >= 1"),
    (["search", "--n", "20"], "Use n >= 56"),
    (["search", "--t-search", "-1"], "--t-search: expected a finite number >= 0"),
    (["search", "--n-search", "many"], "--n-search: expected a whole number"),
    (["search", "--copies", "3"], "invalid choice"),
    (["search", "--seed", "-4"], "--seed: expected a number >= 0"),
    (["search", "--t-search", "0"], "t_search must be a temperature > 0"),
])
def test_bad_options_exit_2_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
