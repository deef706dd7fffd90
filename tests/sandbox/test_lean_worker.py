"""What a sandbox worker holds: every module it imports is copied into page tables on each job's fork."""

from __future__ import annotations

import json
import subprocess
import sys

import hackwatch.sandbox as sandbox
import hackwatch.verify as verify


def test_worker_and_runner_import_no_host_side_modules():
    code = ("import json, sys; import hackwatch.sandbox._worker, hackwatch.verify._runner; "
            "print(json.dumps(sorted(sys.modules)))")
    loaded = set(json.loads(subprocess.run([sys.executable, "-S", "-c", code], check=True, capture_output=True,
                                           text=True, env={"PYTHONPATH": ":".join(sys.path)}).stdout))
    for host_side in ("hackwatch.sandbox._pool", "hackwatch.sandbox._bench", "hackwatch.verify._verifier",
                      "hackwatch.verify._check", "hackwatch.tasks", "ctypes.util", "pandas", "duckdb"):
        assert host_side not in loaded, host_side


def test_lazy_package_attributes_still_resolve():
    assert sandbox.SandboxPool.__name__ == "SandboxPool" and "SandboxPool" in dir(sandbox)
    assert verify.Verifier.__name__ == "Verifier" and "check_tasks" in dir(verify)
    assert set(verify.__all__) <= set(dir(verify)) and set(sandbox.__all__) <= set(dir(sandbox))
    for module, name in ((sandbox, "nope"), (verify, "nope")):
        try:
            getattr(module, name)
        except AttributeError as exc:
            assert "has no attribute 'nope'" in str(exc)
        else:
            raise AssertionError("missing attribute resolved")


def test_preload_runs_site_once_when_an_import_needs_a_pth_hook(monkeypatch):
    """Workers start without ``site``; a preload only a ``.pth`` import hook can find gets one retry."""
    import importlib
    import types

    from hackwatch.sandbox import _worker

    calls: list[str] = []
    fake_site = types.ModuleType("site")
    fake_site.main = lambda: calls.append("site.main")  # type: ignore[attr-defined]
    real_import = importlib.import_module

    def import_module(name: str):
        if name == "site":
            return fake_site
        if name == "needs_pth_hook" and not calls:
            raise ModuleNotFoundError(name)
        return real_import("json") if name == "needs_pth_hook" else real_import(name)

    monkeypatch.setattr(_worker.importlib, "import_module", import_module)
    monkeypatch.delitem(sys.modules, "site", raising=False)
    _worker._preload(["needs_pth_hook"])
    assert calls == ["site.main"]
    monkeypatch.setitem(sys.modules, "site", fake_site)  # site already ran: a missing module stays missing
    calls.clear()
    try:
        _worker._preload(["needs_pth_hook"])
    except ModuleNotFoundError:
        pass
    else:
        raise AssertionError("expected ModuleNotFoundError")
    assert calls == []
