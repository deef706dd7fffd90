"""``hackwatch probe capture | train | score`` on real files, and malformed inputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from hackwatch.cli import app
from hackwatch.estimate import estimate_cells, write_table
from hackwatch.probes import load_activations, load_probes

runner = CliRunner()


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def sampled(tmp_path_factory, model_dir):
    d = tmp_path_factory.mktemp("probe-cli")
    out = d / "s.jsonl"
    r = runner.invoke(app, ["sample", "--model", str(model_dir), "--tasks", "builtin", "--limit", "4", "--n", "3",
                            "--temperature", "0.8", "--max-new-tokens", "12", "--out", str(out), "--device", "cpu"])
    assert r.exit_code == 0, r.output
    return d, out


@pytest.fixture(scope="module")
def captured(sampled, model_dir):
    d, samples = sampled
    acts_dir = d / "acts"
    r = runner.invoke(app, ["probe", "capture", "--model", str(model_dir), "--samples", str(samples), "--tasks",
                            "builtin", "--checkpoint", "ck-5", "--step", "5", "--layers", "0,-1", "--windows", "1,4",
                            "--pooling", "mean,last", "--out", str(acts_dir), "--device", "cpu"])
    assert r.exit_code == 0, r.output
    return acts_dir


def test_capture_train_score_forecast(sampled, captured, model_dir):
    d, samples = sampled
    acts_dir = captured
    acts = load_activations(acts_dir)
    assert len(acts) == 12 and acts.meta["layers"] == [0, 2] and len(acts.arrays) == 8
    assert set(acts.index["checkpoint"]) == {"ck-5"} and set(acts.index["step"]) == {5}
    assert acts.index["exploit_type"].str.len().gt(0).all() and set(acts.index["capture"]) == {"forward"}
    # the stored vector is the final hidden state of exactly the sampled ids (float16 storage)
    from transformers import AutoModelForCausalLM

    from hackwatch.models import TransformersBackend
    be = TransformersBackend(str(model_dir), device="cpu")
    row = _rows(samples)[0]
    from hackwatch.tasks import load_tasks

    prompt = {t.id: t.prompt for t in load_tasks("builtin")}[row["task_id"]]
    ids = list(be.prompt_ids(prompt)) + row["prefix_ids"] + row["generated_ids"]
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    with torch.no_grad():
        hs = model(input_ids=torch.tensor([ids]), output_hidden_states=True).hidden_states
    p = row["n_prompt_tokens"]
    k = max(1, min(4, int(acts.index["n_reasoning_tokens"].iloc[0])))
    np.testing.assert_allclose(acts.array(2, 4, "mean")[0], hs[2][0, p:p + k].mean(0).numpy(), atol=2e-3)

    labels = [{**r, "label": "exploit" if r["sample_index"] == 0 else "fail"} for r in _rows(samples)]
    labels_path = _write(d / "verdicts.jsonl", labels)
    probe_dir = d / "probe"
    r = runner.invoke(app, ["probe", "train", "--acts", str(acts_dir), "--labels", str(labels_path), "--out",
                            str(probe_dir), "--folds", "2", "--inner-folds", "2", "--quiet"])
    assert r.exit_code == 0, r.output
    ps = load_probes(probe_dir)
    assert len(ps.probes) == 8 and set(ps.cv["n"]) == {12} and set(ps.cv["n_pos"]) == {4}
    assert set(ps.cv["n_folds"]) == {2}

    est = d / "est.parquet"
    v = pd.DataFrame(labels).assign(checkpoint="ck-5", step=5, prefix_id=None, prefix_tokens=0,
                                    exploit=[x["label"] == "exploit" for x in labels],
                                    exploit_type=list(acts.index["exploit_type"]))
    write_table(estimate_cells(v).summary, est)
    scores, cells = d / "scores.jsonl", d / "cells.parquet"
    r = runner.invoke(app, ["probe", "score", "--probe", str(probe_dir), "--acts", str(acts_dir), "--out",
                            str(scores), "--use", "layer2_window4_mean", "--cells", str(cells), "--estimates", str(est),
                            "--n-boot", "50"])
    assert r.exit_code == 0, r.output
    sc = _rows(scores)
    assert len(sc) == 12 and all(0 <= s["score"] <= 1 and s["probe"] == "layer2_window4_mean" for s in sc)
    table = pd.read_parquet(cells)
    assert set(table["method"]) == {"direct", "probe"}
    assert len(table[table["method"] == "probe"]) == acts.index["exploit_type"].nunique()
    fc = d / "fc.jsonl"
    r = runner.invoke(app, ["forecast", "--estimates", str(cells), "--method", "probe", "--score", "level",
                            "--out", str(fc), "--quiet"])
    assert r.exit_code == 0, r.output
    assert {row["method"] for row in _rows(fc)} == {"probe"}

    r = runner.invoke(app, ["probe", "score", "--probe", str(probe_dir), "--acts", str(acts_dir), "--out",
                            str(d / "all.parquet"), "--use", "all"])
    assert r.exit_code == 0, r.output
    assert len(pd.read_parquet(d / "all.parquet")) == 12 * 8

    # a second checkpoint whose rows carry their own sample_id/checkpoint/step; both stores scored together
    later = _write(d / "s9.jsonl", [{**r, "sample_id": f"ck-9/{i}", "checkpoint": "ck-9", "step": 9}
                                    for i, r in enumerate(_rows(samples))])
    acts9 = d / "acts9"
    r = runner.invoke(app, ["probe", "capture", "--model", str(model_dir), "--samples", str(later), "--tasks",
                            "builtin", "--layers", "0,-1", "--windows", "1,4", "--pooling", "mean,last",
                            "--out", str(acts9), "--device", "cpu"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["probe", "score", "--probe", str(probe_dir), "--acts", str(acts_dir), "--acts",
                            str(acts9), "--out", str(d / "two.jsonl"), "--use", "layer2_window4_mean", "--cells",
                            str(d / "cells2.jsonl"), "--n-boot", "0"])
    assert r.exit_code == 0, r.output
    two = pd.DataFrame(_rows(d / "cells2.jsonl"))
    assert set(zip(two["checkpoint"], two["step"], strict=True)) == {("ck-5", 5), ("ck-9", 9)}
    first = pd.DataFrame(_rows(d / "two.jsonl"))
    # same token ids under the same model: the same scores at both "checkpoints"
    np.testing.assert_allclose(first["score"].iloc[:12].to_numpy(), first["score"].iloc[12:].to_numpy())


def _fails(args, *fragments):
    r = runner.invoke(app, args)
    assert r.exit_code == 2, r.output
    for f in fragments:
        assert f in r.output, r.output
    return r


def test_capture_malformed_inputs(sampled, model_dir, tmp_path):
    _, samples = sampled
    good = _rows(samples)
    base = ["probe", "capture", "--model", str(model_dir), "--tasks", "builtin", "--device", "cpu"]
    out = tmp_path / "acts"
    bad_json = tmp_path / "bad.jsonl"
    bad_json.write_text(json.dumps(good[0]) + "\n{not json\n")
    _fails([*base, "--samples", str(bad_json), "--out", str(out)], f"{bad_json}:2", "not valid JSON")
    no_gen = _write(tmp_path / "nogen.jsonl", [{k: v for k, v in good[0].items() if k != "generated_ids"}])
    _fails([*base, "--samples", str(no_gen), "--out", str(out)], f"{no_gen}:1", "'generated_ids' is missing")
    bad_ids = _write(tmp_path / "badids.jsonl", [{**good[0], "generated_ids": [1, "x"]}])
    _fails([*base, "--samples", str(bad_ids), "--out", str(out)], f"{bad_ids}:1", "integer token ids")
    unknown = _write(tmp_path / "unknown.jsonl", [{**good[0], "task_id": "no-such-task"}])
    _fails([*base, "--samples", str(unknown), "--out", str(out)], f"{unknown}:1", "--tasks")
    no_prefix = _write(tmp_path / "noprefix.jsonl", [{**good[0], "prefix_tokens": 5}])
    _fails([*base, "--samples", str(no_prefix), "--out", str(out)], f"{no_prefix}:1", "prefix_tokens=5")
    stale = _write(tmp_path / "stale.jsonl", [{**good[0], "n_prompt_tokens": 3}])
    _fails([*base, "--samples", str(stale), "--out", str(out)], f"{stale}:1", "n_prompt_tokens=3")
    _fails([*base, "--samples", str(samples), "--out", str(out), "--layers", "1,x"], "--layers", "integers")
    _fails([*base, "--samples", str(samples), "--out", str(out), "--layers", "7"], "out of range")
    _fails([*base, "--samples", str(samples), "--out", str(out), "--pooling", "max"], "poolings must be among")
    _fails(["probe", "capture", "--model", "openai:http://127.0.0.1:1/v1#m", "--samples", str(samples), "--out",
            str(out)], "local model directory")
    assert not out.exists()  # no partial output
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".acts")]


def test_train_and_score_malformed_inputs(sampled, captured, tmp_path):
    d, samples = sampled
    acts_dir = captured
    good = _rows(samples)
    labels = _write(tmp_path / "labels.jsonl", [{**r, "label": "exploit" if r["sample_index"] == 0 else "fail"}
                                                for r in good])
    probe_dir = tmp_path / "probe"
    r = runner.invoke(app, ["probe", "train", "--acts", str(acts_dir), "--labels", str(labels), "--out",
                            str(probe_dir), "--folds", "2", "--inner-folds", "2", "--no-null", "--quiet"])
    assert r.exit_code == 0, r.output
    one_class = _write(tmp_path / "one.jsonl", [{**r, "label": "fail"} for r in good])
    _fails(["probe", "train", "--acts", str(acts_dir), "--labels", str(one_class), "--out", str(tmp_path / "p")],
           "needs both classes")
    other = _write(tmp_path / "other.jsonl", [{"sample_id": "zzz", "label": "exploit"}])
    _fails(["probe", "train", "--acts", str(acts_dir), "--labels", str(other), "--out", str(tmp_path / "p")],
           "no verdict row matches")
    _fails(["probe", "train", "--acts", str(tmp_path), "--labels", str(other), "--out", str(tmp_path / "p")],
           "not an activations store")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"sample_id": "a", "label": "fail"}\nnope\n')
    _fails(["probe", "train", "--acts", str(acts_dir), "--labels", str(bad), "--out", str(tmp_path / "p")],
           f"{bad}:2")
    assert not (tmp_path / "p").exists()
    _fails(["probe", "score", "--probe", str(probe_dir), "--acts", str(acts_dir), "--out",
            str(tmp_path / "s.jsonl"), "--use", "layer9_window1_mean"], "no probe 'layer9_window1_mean'")
    _fails(["probe", "score", "--probe", str(tmp_path), "--acts", str(acts_dir), "--out", str(tmp_path / "s.jsonl")],
           "not a probe directory")
    _fails(["probe", "score", "--probe", str(probe_dir), "--acts", str(acts_dir), "--out",
            str(tmp_path / "s.jsonl"), "--estimates", str(tmp_path / "e.parquet")], "--cells")
    no_method = _write(tmp_path / "est.jsonl", [{"checkpoint": "ck-5", "exploit_type": "x"}])
    _fails(["probe", "score", "--probe", str(probe_dir), "--acts", str(acts_dir), "--out", str(tmp_path / "s.jsonl"),
            "--cells", str(tmp_path / "c.jsonl"), "--estimates", str(no_method)], "lacks column 'method'")
    assert not (tmp_path / "s.jsonl").exists() and not (tmp_path / "c.jsonl").exists()
