"""``write_rollouts(append=True)``: JSONL appends in place (O(batch) per step, whole batches only);
Parquet appends rewrite the file and warn past a size where that gets quadratic."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from hackwatch.monitor import RolloutTableError, read_rollouts, write_rollouts
from hackwatch.monitor import _rollouts as rollouts_module


def batch(step: int, seed: int = 0) -> pd.DataFrame:
    """One GRPO step: 3 prompts x 4 rollouts, a non-ASCII completion and an entropy with gaps."""
    rng = np.random.default_rng(seed + step)
    rows = [{"step": step, "prompt_id": f"p{p}", "group_id": f"{step}:p{p}", "subset": "trigger" if p else "plain",
             "reward": float(rng.random() < 0.5), "completion": f"réponse {g} ✓", "length": 3 + g,
             "entropy": float("nan") if g == 0 else float(rng.random())}
            for p in range(3) for g in range(4)]
    return pd.DataFrame(rows)


def test_jsonl_append_is_in_place_and_reads_back_as_one_write(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_rollouts(batch(1), path, append=True)  # no file yet: created
    inode, before = os.stat(path).st_ino, path.read_bytes()
    for step in range(2, 6):
        write_rollouts(batch(step), path, append=True)
        assert os.stat(path).st_ino == inode  # appended to the same file, not rewritten and renamed
    assert path.read_bytes().startswith(before)  # earlier batches untouched byte for byte
    whole = tmp_path / "whole.jsonl"
    write_rollouts(pd.concat([batch(s) for s in range(1, 6)], ignore_index=True), whole)
    pdt.assert_frame_equal(read_rollouts(path), read_rollouts(whole))
    assert path.read_bytes() == whole.read_bytes()
    write_rollouts(batch(1).iloc[:0], path, append=True)  # an empty batch writes nothing
    assert path.read_bytes() == whole.read_bytes()


def test_a_line_cut_short_by_a_crash_is_cut_off_by_the_next_append(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_rollouts(batch(1), path)
    write_rollouts(batch(2), path, append=True)
    cut = batch(3).to_json(orient="records", lines=True, force_ascii=False).encode()
    with open(path, "ab") as f:  # killed in the middle of step 3's write: its first group, then half a line
        f.write(cut[:cut.index(b"3:p1")])
    write_rollouts(batch(4), path, append=True)
    got = read_rollouts(path)
    assert sorted(set(got["step"])) == [1, 2, 3, 4] and len(got) == 3 * 12 + 4  # whole lines kept, the torn one gone
    assert set(got.loc[got["step"] == 3, "group_id"]) == {"3:p0"}
    kept = pd.concat([batch(1), batch(2), batch(3).iloc[:4], batch(4)], ignore_index=True)
    write_rollouts(kept, tmp_path / "kept.jsonl")
    pdt.assert_frame_equal(got, read_rollouts(tmp_path / "kept.jsonl"))


def test_a_file_that_is_one_torn_line_is_emptied_before_the_next_batch(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"step": 1, "prompt_id": "p0", "gr\xc3')  # the very first write was cut short, mid-character
    write_rollouts(batch(2), path, append=True)
    pdt.assert_frame_equal(read_rollouts(path), read_rollouts(_whole(tmp_path, [2])))


def test_a_whole_last_line_without_its_newline_is_kept(tmp_path: Path) -> None:
    """A JSONL file written by another tool without a final newline loses nothing: the row gets its newline."""
    path = tmp_path / "r.jsonl"
    path.write_bytes(batch(1).to_json(orient="records", lines=True, force_ascii=False).encode().rstrip(b"\n"))
    write_rollouts(batch(2), path, append=True)
    pdt.assert_frame_equal(read_rollouts(path), read_rollouts(_whole(tmp_path, [1, 2])))


def test_parquet_append_keeps_one_readable_file_and_warns_once_past_the_cap(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "r.parquet"
    for step in range(1, 4):
        write_rollouts(batch(step), path, append=True)
    pdt.assert_frame_equal(read_rollouts(path), read_rollouts(_whole(tmp_path, [1, 2, 3], ".parquet")))
    monkeypatch.setattr(rollouts_module, "PARQUET_APPEND_WARN_ROWS", 36)
    with pytest.warns(RuntimeWarning, match=r"r.parquet: appending to a Parquet rollout table of 36 rows .*\.jsonl"):
        write_rollouts(batch(4), path, append=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once per file: the next append is quiet
        write_rollouts(batch(5), path, append=True)
    assert sorted(set(read_rollouts(path)["step"])) == [1, 2, 3, 4, 5]


def _whole(folder: Path, steps: list[int], suffix: str = ".jsonl") -> Path:
    out = folder / f"whole-{'-'.join(map(str, steps))}{suffix}"
    write_rollouts(pd.concat([batch(s) for s in steps], ignore_index=True), out)
    return out



def _crash_in_step(path: Path, step: int, cut_before: bytes) -> None:
    """Write what a process killed in the middle of ``step``'s append leaves: whole lines up to ``cut_before``,
    then half a line."""
    data = batch(step).to_json(orient="records", lines=True, force_ascii=False).encode()
    end = data.index(cut_before)
    with open(path, "ab") as f:
        f.write(data[:end + len(cut_before) // 2])


def test_a_group_cut_by_a_crash_is_dropped_with_a_warning_naming_file_step_and_group(tmp_path: Path) -> None:
    """Step 3's append died after two of group 3:p1's four rollouts: read as a group of two, that group would
    bias the step's zero-variance share; the reader drops it and says where, the next append carries on."""
    path = tmp_path / "r.jsonl"
    write_rollouts(batch(1), path)
    write_rollouts(batch(2), path, append=True)
    rows = batch(3).to_json(orient="records", lines=True, force_ascii=False).encode().splitlines(keepends=True)
    with open(path, "ab") as f:  # group 3:p0 whole, two lines of 3:p1, half of the third
        f.write(b"".join(rows[:6]) + rows[6][:20])
    write_rollouts(batch(4), path, append=True)
    with pytest.warns(RuntimeWarning, match=r"r.jsonl: line 29: step 3, group '3:p1' has 2 of 4 rollouts.*dropped"):
        got = read_rollouts(path)
    assert set(got.loc[got["step"] == 3, "group_id"]) == {"3:p0"}
    kept = pd.concat([batch(1), batch(2), batch(3).iloc[:4], batch(4)], ignore_index=True)
    pdt.assert_frame_equal(got, read_rollouts(_write(tmp_path / "kept.jsonl", kept)))


def test_a_live_file_with_a_torn_last_line_reads_without_it(tmp_path: Path) -> None:
    """A reader that opens the file while a batch is being written sees a torn last line and a short group:
    both are left out with a warning, the whole groups read as they are."""
    path = tmp_path / "r.jsonl"
    write_rollouts(batch(1), path)
    _crash_in_step(path, 2, b'"group_id":"2:p1"')  # 2:p0 whole, then the first line of 2:p1 torn
    with pytest.warns(RuntimeWarning, match=r"r.jsonl: line 17: unfinished last line.*left out"):
        got = read_rollouts(path)
    assert len(got) == 16 and set(got.loc[got["step"] == 2, "group_id"]) == {"2:p0"}
    path.write_bytes(path.read_bytes().rstrip(b"\n") + b'\n{"step": 9,\n')  # a broken line inside stays an error
    with pytest.raises(RolloutTableError, match=r"r.jsonl:17: not valid JSON"):
        read_rollouts(path)


def test_a_whole_last_line_without_its_newline_reads_quietly(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(batch(1).to_json(orient="records", lines=True, force_ascii=False).encode().rstrip(b"\n"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(read_rollouts(path)) == 12


def test_num_generations_makes_the_group_size_check_exact(tmp_path: Path) -> None:
    """A step whose groups are all short has no usual size to show it; the run's num_generations does. A group
    larger than num_generations is an error (wrong value, or a step logged twice)."""
    short = batch(2).iloc[[i for i in range(12) if i % 4 != 3]]  # every group of step 2 lost a rollout
    path = _write(tmp_path / "r.jsonl", pd.concat([batch(1), short], ignore_index=True))
    assert len(read_rollouts(path)) == 21  # without num_generations: three groups of 3 is a plausible step
    with pytest.warns(RuntimeWarning, match=r"line 13: step 2, group '2:p0' has 3 of 4 rollouts"):
        got = read_rollouts(path, num_generations=4)
    assert list(got["step"].unique()) == [1]
    with pytest.raises(RolloutTableError, match=r"r.jsonl: line 1: step 1, group '1:p0' has 4 rollouts, more than "
                                                r"num_generations=3"):
        read_rollouts(path, num_generations=3)


def test_groups_of_one_throughout_a_step_are_still_refused(tmp_path: Path) -> None:
    """Every rollout under its own group_id is a logging mistake, not a crash: refused, naming the line."""
    df = batch(1).assign(group_id=[f"1:{i}" for i in range(12)])
    with pytest.raises(RolloutTableError, match=r"r.jsonl: line 1: step 1, group '1:0' has one rollout"):
        read_rollouts(_write(tmp_path / "r.jsonl", df))


def _write(path: Path, df: pd.DataFrame) -> Path:
    write_rollouts(df, path)
    return path


def test_cli_num_generations_drops_the_short_groups_and_refuses_a_wrong_value(tmp_path: Path) -> None:
    """``hackwatch monitor check --num-generations``: the same exact group-size check from the command line."""
    from typer.testing import CliRunner

    from hackwatch.cli import app

    short = batch(2).iloc[[i for i in range(12) if i % 4 != 3]]
    path = _write(tmp_path / "r.jsonl", pd.concat([batch(1), short], ignore_index=True))
    runner = CliRunner()
    loose = runner.invoke(app, ["monitor", "check", str(path)])
    assert loose.exit_code == 0 and "2 steps, 21 rollouts" in loose.output
    with pytest.warns(RuntimeWarning, match=r"step 2, group '2:p0' has 3 of 4 rollouts"):
        exact = runner.invoke(app, ["monitor", "check", str(path), "--num-generations", "4"])
    assert exact.exit_code == 0 and "1 steps, 12 rollouts" in exact.output
    wrong = runner.invoke(app, ["monitor", "check", str(path), "--num-generations", "3"])
    assert wrong.exit_code == 2 and "more than num_generations=3" in wrong.output


@pytest.mark.parametrize("last", [b"42", b"[1, 2]", b'"text"'])
def test_a_complete_last_line_that_is_no_object_is_an_error_not_a_torn_line(tmp_path: Path, last: bytes) -> None:
    """Only a line a write cut short (invalid JSON, or UTF-8 cut mid-character) is unfinished: a whole JSON value
    that is not an object, newline or not, is a wrong file and refused with its line (it was left out quietly)."""
    path = tmp_path / "r.jsonl"
    head = batch(1).to_json(orient="records", lines=True, force_ascii=False).encode()
    path.write_bytes(head + last)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 'unfinished last line' warning either
        with pytest.raises(RolloutTableError, match=r"r.jsonl:13: expected a JSON object per line"):
            read_rollouts(path)
    path.write_bytes(last)  # the whole file one such line: named, not 'no rollouts in file'
    with pytest.raises(RolloutTableError, match=r"r.jsonl:1: expected a JSON object per line"):
        read_rollouts(path)
    path.write_bytes(head + '{"step": 2, "completion": "é'.encode()[:-1])  # torn inside a UTF-8 character
    with pytest.warns(RuntimeWarning, match=r"line 13: unfinished last line"):
        assert len(read_rollouts(path)) == 12


def test_the_short_group_warning_says_where_the_expected_size_comes_from(tmp_path: Path) -> None:
    """'has 2 of 4 rollouts' read as if the run's group size were known when it was only the step's usual size
    (a guess that a run with varying group sizes should replace by num_generations); the warning now says which."""
    cut = batch(3).iloc[[i for i in range(12) if i not in (6, 7)]]  # group 3:p1 lost two rollouts
    path = _write(tmp_path / "r.jsonl", pd.concat([batch(1), cut], ignore_index=True))
    with pytest.warns(RuntimeWarning, match=r"has 2 of 4 rollouts \(the step's usual group size; pass "
                                            r"num_generations for the run's\)") as guessed:
        read_rollouts(path)
    assert "num_generations=4" not in str(guessed[0].message)
    with pytest.warns(RuntimeWarning, match=r"has 2 of 4 rollouts \(num_generations=4\)"):
        read_rollouts(path, num_generations=4)


def test_a_table_with_no_rollouts_left_is_refused_in_one_line(tmp_path: Path) -> None:
    """An empty Parquet table, or a file whose every group was cut short, read as zero rollouts and the CLI
    stopped in a traceback (KeyError in the flag rules); both are now a RolloutTableError naming the file."""
    from typer.testing import CliRunner

    from hackwatch.cli import app

    empty = tmp_path / "empty.parquet"
    batch(1).iloc[:0].to_parquet(empty)
    with pytest.raises(RolloutTableError, match=r"empty.parquet: no rollouts in file"):
        read_rollouts(empty)
    short = _write(tmp_path / "short.jsonl", batch(2).iloc[[i for i in range(12) if i % 4 != 3]])
    with pytest.warns(RuntimeWarning, match="cut short"):
        with pytest.raises(RolloutTableError, match=r"short.jsonl: no rollouts left: every GRPO group .*3 groups"):
            read_rollouts(short, num_generations=4)
    res = CliRunner().invoke(app, ["monitor", "check", str(empty)])
    assert res.exit_code == 2 and "no rollouts in file" in res.output and "Traceback" not in res.output, res.output


def test_cli_names_the_option_for_a_wrong_num_generations(tmp_path: Path) -> None:
    """The CLI said 'num_generations=1: expected an integer >= 2 ..., or None' (the library's words: no option
    name, a Python None); it now names --num-generations."""
    from typer.testing import CliRunner

    from hackwatch.cli import app

    path = _write(tmp_path / "r.jsonl", batch(1))
    res = CliRunner().invoke(app, ["monitor", "check", str(path), "--num-generations", "1"])
    assert res.exit_code == 2 and "--num-generations" in res.output and "None" not in res.output, res.output
