from __future__ import annotations

from pathlib import Path

import pytest

from hackwatch.runs import ConfigError, config_from_dict, discover_checkpoints, load_config, log_spaced
from hackwatch.runs._checkpoints import resolve_checkpoints

REPO = Path(__file__).resolve().parents[2]


def base() -> dict:
    return {"tasks": {"source": "builtin"}, "subject": {"checkpoints": [{"path": "a", "step": 1}]}}


def with_(section: str, key: str, value: object) -> dict:
    data = base()
    data.setdefault(section, {})[key] = value
    return data


@pytest.mark.parametrize(("section", "key", "value", "message"), [
    ("sampling", "temperature", "hot", 'config.toml: [sampling].temperature: expected a float > 0, got "hot"'),
    ("sampling", "temperature", 0, "config.toml: [sampling].temperature: expected a float > 0, got 0"),
    ("sampling", "direct_samples", -1, "config.toml: [sampling].direct_samples: expected an integer >= 0, got -1"),
    ("sampling", "max_new_tokens", 0, "config.toml: [sampling].max_new_tokens: expected an integer >= 1, got 0"),
    ("sampling", "batch_size", 2.5, "config.toml: [sampling].batch_size: expected an integer >= 1, got 2.5"),
    ("sampling", "seed", True, "config.toml: [sampling].seed: expected an integer >= 0, got true"),
    ("thresholds", "emergence", 1.5, "config.toml: [thresholds].emergence: expected a float in (0, 1), got 1.5"),
    ("thresholds", "cutoff", 0, "config.toml: [thresholds].cutoff: expected an integer >= 1, got 0"),
    ("monitor", "num_generations", 1, "config.toml: [monitor].num_generations: expected an integer >= 2, got 1"),
    ("subject", "score_top_k", 0,
     "config.toml: [subject].score_top_k: expected -1 (the full vocabulary) or an integer >= 1, got 0"),
    ("subject", "score_top_k", -1.0,
     "config.toml: [subject].score_top_k: expected -1 (the full vocabulary) or an integer >= 1, got -1.0"),
    ("subject", "backend", "tf", "config.toml: [subject].backend: expected one of transformers, vllm, openai"),
    ("donor", "prefix_lengths", [5, "x"], "config.toml: [donor].prefix_lengths: expected a list of positive integers"),
    ("tasks", "exploit_types", "assert_bypass", "config.toml: [tasks].exploit_types: expected a list of strings"),
    ("report", "toy_banner", "yes", 'config.toml: [report].toy_banner: expected true or false, got "yes"'),
    ("estimate", "missing_donor_rate", "zero",
     'config.toml: [estimate].missing_donor_rate: expected one of uncorrected, drop, error, got "zero"'),
    ("estimate", "missing_donor_rate", "upper",
     "config.toml: [estimate].missing_donor_rate: 'upper' needs the number of donor continuations"),
    ("sampling", "temprature", 0.5, "config.toml: [sampling].temprature: unknown key; known keys: direct_samples"),
])
def test_invalid_values_name_the_key(section: str, key: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        config_from_dict(with_(section, key, value), origin="config.toml")
    assert str(err.value).startswith(message)


def test_structural_errors() -> None:
    with pytest.raises(ConfigError, match=r"^c.toml: \[tasks\]: missing section"):
        config_from_dict({"subject": base()["subject"]}, origin="c.toml")
    with pytest.raises(ConfigError, match=r"^c.toml: \[sampler\]: unknown section"):
        config_from_dict({**base(), "sampler": {}}, origin="c.toml")
    data = base()
    data["subject"]["dir"] = "ckpts"
    with pytest.raises(ConfigError, match=r"\[subject\]: give exactly one of"):
        config_from_dict(data, origin="c.toml")
    data = base()
    data["subject"]["checkpoints"] = [{"path": "a"}]
    with pytest.raises(ConfigError, match=r"^c.toml: \[subject\].checkpoints\[0\].step: expected an integer"):
        config_from_dict(data, origin="c.toml")
    with pytest.raises(ConfigError, match=r"\[donor\].model: a donor model needs a prefix bank"):
        config_from_dict(with_("donor", "model", "m"), origin="c.toml")


def test_load_config_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[tasks\nsource = 1")
    with pytest.raises(ConfigError, match=r"bad.toml: not valid TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match=r"missing.toml: cannot read the config"):
        load_config(tmp_path / "missing.toml")


def test_defaults_and_paths(tmp_path: Path) -> None:
    cfg = config_from_dict(base(), origin="exp.toml", base_dir=tmp_path)
    assert cfg.run.out == "exp.run" and cfg.run.name == "exp"
    assert cfg.run_dir == tmp_path / "exp.run"
    assert cfg.sampling.temperature == 1.0 and cfg.thresholds.emergence == 0.1
    assert cfg.subject.checkpoints[0].name == "a" and cfg.subject.checkpoints[0].step == 1
    # the work hash ignores thresholds/report but not the sampling plan
    other = config_from_dict(with_("thresholds", "emergence", 0.2), origin="exp.toml", base_dir=tmp_path)
    assert other.work_hash() == cfg.work_hash()
    changed = config_from_dict(with_("sampling", "seed", 9), origin="exp.toml", base_dir=tmp_path)
    assert changed.work_hash() != cfg.work_hash()


def test_example_config_is_valid() -> None:
    cfg = load_config(REPO / "examples" / "run.toml")
    assert cfg.tasks.source == "builtin"
    assert cfg.sampling.temperature > 0


def test_log_spaced() -> None:
    assert log_spaced([1, 2, 4, 8, 16, 32, 64, 128], 4) == [1, 4, 32, 128]
    assert log_spaced(range(0, 101, 10), 3) == [0, 10, 100]
    assert log_spaced([5, 10], 5) == [5, 10]
    assert log_spaced([3, 1, 2], 0) == [1, 2, 3]
    assert log_spaced([1, 10, 100, 1000], 1) == [1000]
    chosen = log_spaced(list(range(1, 1001)), 4)
    assert chosen == [1, 10, 100, 1000]


def test_checkpoint_directory(tmp_path: Path) -> None:
    for step in (1, 2, 5, 10, 50, 100):
        (tmp_path / "ck" / f"checkpoint-{step}").mkdir(parents=True)
    (tmp_path / "ck" / "runs").mkdir()
    found = discover_checkpoints(tmp_path / "ck", where="x")
    assert [c.step for c in found] == [1, 2, 5, 10, 50, 100]
    data = base()
    data["subject"] = {"dir": "ck", "select": 3}
    cfg = config_from_dict(data, origin="c.toml", base_dir=tmp_path)
    chosen = resolve_checkpoints(cfg)
    assert [c.step for c in chosen] == [1, 10, 100]
    assert chosen[0].name == "checkpoint-1" and Path(chosen[0].path).is_dir()
    with pytest.raises(ConfigError, match=r"no checkpoint-<step> folders"):
        discover_checkpoints(tmp_path / "ck" / "runs", where="x")
    data["subject"] = {"checkpoints": [{"path": "nope", "step": 1}]}
    with pytest.raises(ConfigError, match=r"\[subject\].checkpoints\[0\].path: .*nope does not exist"):
        resolve_checkpoints(config_from_dict(data, origin="c.toml", base_dir=tmp_path))


def test_cross_section_checks() -> None:
    data = base()
    data["donor"] = {"bank": "b.jsonl"}
    data["sampling"] = {"attempts_per_prefix": 0}
    with pytest.raises(ConfigError, match=r"\[sampling\].attempts_per_prefix: a prefix bank needs prefilled"):
        config_from_dict(data, origin="c.toml")
    with pytest.raises(ConfigError, match=r"\[sampling\].direct_samples: 0 direct samples and no"):
        config_from_dict(with_("sampling", "direct_samples", 0), origin="c.toml")


def _bank_config(tmp_path: Path, rows: list[dict], *, model: str = "") -> tuple:
    import json

    from hackwatch.runs._inputs import select_tasks

    (tmp_path / "bank.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    data = base()
    data["tasks"] = {"source": "builtin", "ids": ["reverse_words"]}
    data["donor"] = {"bank": "bank.jsonl", "model": model}
    cfg = config_from_dict(data, origin="c.toml", base_dir=tmp_path)
    return cfg, select_tasks(cfg)


def test_prefix_bank_errors_name_file_row_and_column(tmp_path: Path) -> None:
    from hackwatch.runs._inputs import load_bank

    good = {"task_id": "reverse_words", "prefix_id": "p1", "prefix_tokens": 3, "prefix_ids": [5, 6, 7],
            "logp_donor": -4.0}
    cfg, tasks = _bank_config(tmp_path, [good, {**good, "prefix_id": "p2", "task_id": "elsewhere"}])
    bank = load_bank(cfg, tasks)
    assert bank["prefix_id"].tolist() == ["p1"] and list(bank["prefix_ids"].iloc[0]) == [5, 6, 7]
    assert bank["trace_id"].tolist() == ["p1"] and bank["logp_donor_bank"].tolist() == [-4.0]
    cfg, tasks = _bank_config(tmp_path, [good, {**good, "prefix_id": "p2", "prefix_tokens": 4}])
    with pytest.raises(ConfigError, match=r"bank.jsonl: row 1, column 'prefix_tokens': says 4 but prefix_ids holds 3"):
        load_bank(cfg, tasks)
    cfg, tasks = _bank_config(tmp_path, [good, good])
    with pytest.raises(ConfigError, match=r"bank.jsonl: row 1, column 'prefix_id': duplicate prefix id 'p1'"):
        load_bank(cfg, tasks)
    cfg, tasks = _bank_config(tmp_path, [{k: v for k, v in good.items() if k != "prefix_ids"}])
    with pytest.raises(ConfigError, match=r"bank.jsonl: prefix bank lacks column 'prefix_ids or prefix_token_ids"):
        load_bank(cfg, tasks)
    cfg, tasks = _bank_config(tmp_path, [{k: v for k, v in good.items() if k != "logp_donor"}])
    with pytest.raises(ConfigError, match=r"prefix 'p1' has no logp_donor and \[donor\].model is not set"):
        load_bank(cfg, tasks)
    (tmp_path / "bank.jsonl").write_text(json_line(good) + "{not json\n")
    with pytest.raises(ConfigError, match=r"bank.jsonl:2: not valid JSON"):
        load_bank(cfg, tasks)


def json_line(row: dict) -> str:
    import json

    return json.dumps(row) + "\n"


def test_cli_config_error_is_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from hackwatch.cli import app

    cfg = tmp_path / "bad.toml"
    cfg.write_text('[tasks]\nsource = "builtin"\n[subject]\ncheckpoints = [{path = "x", step = 1}]\n'
                   '[sampling]\ntemperature = "hot"\n')
    res = CliRunner().invoke(app, ["run", str(cfg)])
    assert res.exit_code == 2
    assert res.output.strip() == 'error: bad.toml: [sampling].temperature: expected a float > 0, got "hot"'
    assert not (tmp_path / "bad.run").exists()


def _prop(**over: object) -> dict:
    return {"name": "prompted", "bank": "p.jsonl", **over}


@pytest.mark.parametrize(("data", "message"), [
    ({"proposals": [_prop(name="Prompted")]},
     'c.toml: [[proposals]][0].name: expected a name matching [a-z][a-z0-9_]* other than "donor", got "Prompted"'),
    ({"proposals": [_prop(name="donor")]}, "c.toml: [[proposals]][0].name: expected a name matching"),
    ({"proposals": [_prop(), _prop(bank="q.jsonl")]},
     "c.toml: [[proposals]][1].name: duplicate proposal name 'prompted'; give every proposal its own name"),
    ({"proposals": [_prop(bank="")]}, 'c.toml: [[proposals]][0].bank: expected a non-empty string, got ""'),
    ({"proposals": [_prop(modle="m")]}, "c.toml: [[proposals]][0].modle: unknown key; known keys: name, bank"),
    ({"proposals": [_prop(prefix_lengths=[0])]},
     "c.toml: [[proposals]][0].prefix_lengths: expected a list of positive integers"),
    ({"proposals": _prop()}, "c.toml: [[proposals]]: expected an array of tables"),
    ({"proposals": [_prop()], "sampling": {"attempts_per_prefix": 0}},
     "c.toml: [sampling].attempts_per_prefix: a prefix bank needs prefilled attempts"),
    ({"probes": {"dir": "probe"}, "subject": {"backend": "openai", "checkpoints": [{"path": "a", "step": 1}]}},
     'c.toml: [probes].dir: probes read hidden states, which needs [subject].backend = "transformers"'),
    ({"probes": {"dir": "probe"}, "sampling": {"direct_samples": 0}, "donor": {"bank": "b.jsonl"}},
     "c.toml: [probes].dir: probes score each checkpoint's direct samples"),
    ({"probes": {"use": "layer1_window4_mean"}}, "c.toml: [probes].use: names a probe but [probes].dir is not set"),
    ({"probes": {"dir": 3}}, "c.toml: [probes].dir: expected a folder path, got 3"),
])
def test_proposal_and_probe_errors_name_the_key(data: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        config_from_dict({**base(), **data}, origin="c.toml")
    assert str(err.value).startswith(message)


def test_proposals_are_work_and_probes_are_not(tmp_path: Path) -> None:
    cfg = config_from_dict(base(), origin="c.toml")
    with_props = config_from_dict({**base(), "proposals": [_prop(prefix_lengths=[4])]}, origin="c.toml")
    assert with_props.proposals[0].prefix_lengths == (4,) and with_props.proposals[0].model == ""
    assert with_props.to_dict()["proposals"] == [{"name": "prompted", "bank": "p.jsonl", "model": "",
                                                  "prefix_lengths": (4,), "max_prefixes_per_task": 0}]
    assert with_props.work_hash() != cfg.work_hash()
    assert config_from_dict({**base(), "proposals": []}, origin="c.toml").work_hash() == cfg.work_hash()
    probes = config_from_dict({**base(), "probes": {"dir": "probe"}}, origin="c.toml")
    assert probes.work_hash() == cfg.work_hash()  # a probe may be added to a finished run


def test_proposal_banks_are_qualified_and_checked(tmp_path: Path) -> None:
    import json

    from hackwatch.runs._inputs import load_bank

    good = {"task_id": "reverse_words", "prefix_id": "p1", "trace_id": "t1", "prefix_tokens": 3,
            "prefix_ids": [5, 6, 7], "logp_donor": -4.0, "source": "prompted"}
    (tmp_path / "other.jsonl").write_text(json.dumps({**good, "logp_donor": -5.0}) + "\n")
    cfg, tasks = _bank_config(tmp_path, [good])
    cfg.proposals = config_from_dict({**base(), "proposals": [_prop(name="x", bank="other.jsonl")]}).proposals
    bank = load_bank(cfg, tasks)
    assert bank["prefix_id"].tolist() == ["p1", "x:p1"] and bank["trace_id"].tolist() == ["t1", "x:t1"]
    assert bank["proposal"].tolist() == ["donor", "x"] and bank["logp_donor_bank"].tolist() == [-4.0, -5.0]
    assert bank["source"].tolist() == ["prompted", "prompted"]
    # a donor id spelled like a qualified proposal id collides: refused, naming both banks
    cfg, tasks = _bank_config(tmp_path, [{**good, "prefix_id": "x:p1"}])
    cfg.proposals = config_from_dict({**base(), "proposals": [_prop(name="x", bank="other.jsonl")]}).proposals
    with pytest.raises(ConfigError, match=r"^c.toml: prefix id 'x:p1' is used by both 'donor' and 'x'"):
        load_bank(cfg, tasks)
    cfg, tasks = _bank_config(tmp_path, [good])
    cfg.proposals = config_from_dict({**base(), "proposals": [_prop(name="x", bank="nope.jsonl")]}).proposals
    with pytest.raises(ConfigError, match=r"^c.toml: \[\[proposals\]\]\[0\].bank: .*nope.jsonl does not exist$"):
        load_bank(cfg, tasks)
    (tmp_path / "other.jsonl").write_text(json.dumps({k: v for k, v in good.items() if k != "logp_donor"}) + "\n")
    cfg.proposals = config_from_dict({**base(), "proposals": [_prop(name="x", bank="other.jsonl")]}).proposals
    with pytest.raises(ConfigError, match=r"prefix 'x:p1' has no logp_donor and \[\[proposals\]\]\[0\].model is "
                                          r"not set; set \[\[proposals\]\]\[0\].model"):
        load_bank(cfg, tasks)
    cfg.proposals = config_from_dict({**base(), "proposals": [_prop(name="x", bank="other.jsonl",
                                                                    model="m")]}).proposals
    assert load_bank(cfg, tasks)["logp_donor_bank"].isna().tolist() == [False, True]


def test_run_probe_errors_name_the_key(tmp_path: Path) -> None:
    from hackwatch.probes import save_probes, train_probes
    from hackwatch.runs._probes import load_run_probe
    from tests.probes.conftest import synthetic_acts

    acts, y = synthetic_acts(n_tasks=6, per_task=10)
    save_probes(train_probes(acts, y, null_control=False, n_boot=20), tmp_path / "probe")
    cfg = config_from_dict({**base(), "probes": {"dir": "probe"}}, origin="c.toml", base_dir=tmp_path)
    first = load_run_probe(cfg)
    assert first is not None and first.key == "layer1_window4_mean" and len(first.fingerprint) == 16
    cfg.probes.use = "layer1_window4_mean"
    assert load_run_probe(cfg) == first  # the same probe, chosen by name
    cfg.probes.use = "layer9_window4_mean"
    with pytest.raises(ConfigError, match=r"^c.toml: \[probes\].use: no probe 'layer9_window4_mean' in .*probe; "
                                          r"trained: layer1_window4_mean$"):
        load_run_probe(cfg)
    cfg.probes.dir, cfg.probes.use = "nothing", ""
    with pytest.raises(ConfigError, match=r"^c.toml: \[probes\].dir: .*nothing"):
        load_run_probe(cfg)
    # a retrained probe (other weights) gets another fingerprint, so its units run again
    acts, y = synthetic_acts(n_tasks=6, per_task=10, seed=1)
    save_probes(train_probes(acts, y, null_control=False, n_boot=20), tmp_path / "probe")
    cfg.probes.dir = "probe"
    again = load_run_probe(cfg)
    assert again is not None and again.fingerprint != first.fingerprint


def test_score_top_k_enters_the_work_hash_only_when_not_the_default(tmp_path: Path) -> None:
    """Runs written before ``[subject].score_top_k`` existed keep their work hash (they resume); another value
    changes the scores, so it is new work; the pipeline hands it to every model job."""
    import hashlib
    import json

    from hackwatch.runs._pipeline import Pipeline

    cfg = config_from_dict(base(), origin="exp.toml", base_dir=tmp_path)
    data = cfg.to_dict()
    before = {k: data[k] for k in ("tasks", "donor", "sampling")}
    before["subject"] = {k: v for k, v in data["subject"].items() if k != "score_top_k"}
    assert cfg.subject.score_top_k == 20
    assert cfg.work_hash() == hashlib.sha256(json.dumps(before, sort_keys=True).encode()).hexdigest()[:16]
    full = config_from_dict(with_("subject", "score_top_k", -1), origin="exp.toml", base_dir=tmp_path)
    assert full.subject.score_top_k == -1 and full.work_hash() != cfg.work_hash()
    job = Pipeline(full, store=None, executor=None, progress=None).model_job("openai:http://h/v1#m")  # type: ignore[arg-type]
    assert job.score_top_k == -1
