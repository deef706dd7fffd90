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
                      "hackwatch.verify._check", "hackwatch.tasks", "ctypes.util", "pandas", "duckdb",
                      "hackwatch.catalogue._types", "hackwatch.catalogue._exploits"):
        assert host_side not in loaded, host_side
    # of the exploit-type catalogue the flawed verifiers need only the tokens they react to
    assert sorted(m for m in loaded if m.startswith("hackwatch.catalogue")) == [
        "hackwatch.catalogue", "hackwatch.catalogue._names"]


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

    from hackwatch.sandbox import _preload

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

    monkeypatch.setattr(_preload.importlib, "import_module", import_module)
    monkeypatch.delitem(sys.modules, "site", raising=False)
    _preload.preload(["needs_pth_hook"])
    assert calls == ["site.main"]
    monkeypatch.setitem(sys.modules, "site", fake_site)  # site already ran: a missing module stays missing
    calls.clear()
    try:
        _preload.preload(["needs_pth_hook"])
    except ModuleNotFoundError:
        pass
    else:
        raise AssertionError("expected ModuleNotFoundError")
    assert calls == []


def test_preload_defers_asyncio_for_unittest_mock():
    """``unittest.mock`` imports asyncio (3.6 MB, 50 modules) only to spot async callables: the
    worker preloads it against a stand-in, and a job's own ``import asyncio`` gets the real module."""
    code = ("import json, sys; from hackwatch.sandbox._preload import preload; preload(['unittest.mock']); "
            "import unittest.mock as m; out = {'after_preload': 'asyncio' in sys.modules}; "
            "m.patch.object(json, 'dumps', return_value='x').start(); "
            "out['after_patch'] = 'asyncio' in sys.modules; import asyncio; "
            "out['real'] = hasattr(asyncio, 'run') and asyncio.__spec__ is not None; "
            "out['forwarded'] = m.asyncio.run is asyncio.run; out['dumps'] = json.dumps(1); "
            "print(json.JSONEncoder().encode(out))")
    result = subprocess.run([sys.executable, "-S", "-c", code], check=True, capture_output=True, text=True,
                            env={"PYTHONPATH": ":".join(sys.path)})
    assert json.loads(result.stdout) == {"after_preload": False, "after_patch": False, "real": True,
                                         "forwarded": True, "dumps": "x"}


def test_asyncio_standin_answers_iscoroutinefunction_like_asyncio():
    import asyncio
    import functools
    from unittest import mock

    from hackwatch.sandbox._preload import DEFERRED

    standin = DEFERRED["asyncio"]()

    async def coro() -> None:
        pass

    def plain() -> None:
        pass

    class Marked:
        _is_coroutine = asyncio.coroutines._is_coroutine  # type: ignore[attr-defined]

    class FakeMarked:
        _is_coroutine = object()

    cases = [plain, coro, functools.partial(coro), lambda: None, mock.Mock(), mock.MagicMock(),
             mock.AsyncMock(), mock.MagicMock(spec=coro), Marked(), FakeMarked(), 3, None]
    for obj in cases:
        assert standin.iscoroutinefunction(obj) == asyncio.iscoroutinefunction(obj), obj


def test_preload_falls_back_to_the_real_module_when_a_preload_needs_a_deferred_package():
    """A preload importing ``asyncio.events`` directly cannot use the stand-in (no ``__path__``): retried for real."""
    code = ("import json, sys; from hackwatch.sandbox._preload import preload; "
            "preload(['unittest.mock', 'asyncio.events']); import asyncio.events, unittest.mock as m; "
            "print(json.dumps({'loaded': type(sys.modules['asyncio']).__name__, "
            "'events': sys.modules['asyncio.events'] is asyncio.events, 'iscoro': m.iscoroutinefunction(m.AsyncMock())}))")
    result = subprocess.run([sys.executable, "-S", "-c", code], check=True, capture_output=True, text=True,
                            env={"PYTHONPATH": ":".join(sys.path)})
    assert json.loads(result.stdout) == {"loaded": "module", "events": True, "iscoro": True}
