"""The bounded form of the load and fault suite (``bench/load_faults.py --quick``), run as operators run it:
a real registry on its embedded defaults (SQLite, local disk) under a few clients, idle and slow
connections, kill -9, a database held locked and a full disk. The script checks every rule itself; these
tests read its verdicts and the figures behind them."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from django.conf import settings


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    output = tmp_path_factory.mktemp("load-faults") / "result.json"
    done = subprocess.run(  # noqa: S603 - this interpreter, our own script
        [sys.executable, "bench/load_faults.py", "--quick", "--output", str(output)],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=600,
    )
    result = json.loads(output.read_text()) if output.exists() else {}
    return {"exit": done.returncode, "output": done.stdout[-6000:] + done.stderr[-6000:], **result}


def phase(run: dict[str, Any], name: str) -> dict[str, Any]:
    assert name in run.get("phases", {}), run["output"]
    found: dict[str, Any] = run["phases"][name]
    assert found["verdict"] == {"ok": True, "broken": []}, found["verdict"]
    return found


def test_the_quick_run_exits_0_with_every_rule_held(quick_run):
    assert quick_run["exit"] == 0, quick_run["output"]
    assert quick_run["ok"] is True
    assert list(quick_run["phases"]) == ["load", "idle", "kill", "database", "disk"]


def test_mixed_load_of_several_tenants_answers_without_a_5xx(quick_run):
    load = phase(quick_run, "load")

    assert set(load["by_kind"]) >= {"list", "get", "create", "edit", "upload", "download", "sign in", "all"}
    assert not any(status.startswith("5") for status in load["by_kind"]["all"]["statuses"])
    assert load["memory_mib_after"], "the workers' memory was measured"


def test_idle_and_slow_connections_leave_normal_requests_answered_and_slow_heads_get_a_408(quick_run):
    idle = phase(quick_run, "idle")

    assert idle["by_kind"]["beside idle and slow: all"]["statuses"].keys() == {"200"}
    assert all(outcome.startswith("HTTP/1.1 408") for outcome in idle["slow_heads"])


def test_a_killed_worker_and_server_leave_no_half_done_batch_and_no_file_without_its_row(quick_run):
    kill = phase(quick_run, "kill")

    assert kill["batches"]["partial"] == {}
    assert kill["batches"]["complete"] >= 1
    assert kill["store_before_cleanup"]["rows_without_files"] == []
    assert kill["store_after_cleanup"]["files_without_rows"] == []
    assert kill["store_after_cleanup"]["temporary_files"] == []


def test_a_database_held_locked_answers_writes_with_503_and_recovers_without_a_restart(quick_run):
    database = phase(quick_run, "database")

    assert any(answer.startswith("create 503: database:") for answer in database["answers_during"])
    assert database["by_kind"]["after: all"]["statuses"].keys() <= {"200", "201"}


def test_a_full_disk_answers_507_and_keeps_nothing(quick_run):
    disk = phase(quick_run, "disk")

    assert disk["refused"][0] == 507
    assert disk["kept"]["versions"] == []
    assert disk["kept"]["store"]["temporary_files"] == []
    assert disk["accepted"] == 201


def test_the_results_record_the_machine_and_its_load_average(quick_run):
    assert {"nproc", "cpu", "loadavg_start", "loadavg_end", "commit"} <= quick_run["machine"].keys()
