"""`mreg`, run as a user runs it (the installed executable, in a subprocess), against the real registry."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from client.tests.conftest import PASSWORD, random_file
from testing.servers import free_port

MREG = shutil.which("mreg", path=str(Path(sys.executable).parent)) or "mreg"


def mreg(*arguments: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own executable
        [MREG, *arguments], input=stdin, capture_output=True, text=True, timeout=120, env=env, check=False
    )


@pytest.fixture
def logged_in(registry_server, grace_key, profile_file):
    """grace's key stored in the profile by `mreg login`, as a new user would start."""
    result = mreg("login", "--url", registry_server.url, "--key", "-", stdin=grace_key + "\n")
    assert result.returncode == 0, result.stderr
    return profile_file


def test_login_stores_the_key_in_a_profile_only_its_owner_can_read(logged_in, grace_key, tenant):
    assert stat.S_IMODE(logged_in.stat().st_mode) == 0o600
    text = logged_in.read_text()
    assert grace_key in text
    assert f"tenant = {tenant.id}" in text

    whoami = mreg("--json", "whoami")

    assert whoami.returncode == 0, whoami.stderr
    assert json.loads(whoami.stdout)["user"]["username"] == "grace"


def test_login_with_a_password_creates_a_key_for_this_machine(registry_server, tenant, profile_file):
    result = mreg(
        "login", "--url", registry_server.url, "--tenant", tenant.id, "--username", "olive", "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "mrk_" in profile_file.read_text()
    assert PASSWORD not in profile_file.read_text()
    keys = tenant.call("GET", "/v1/keys", tenant.token("olive"))["docs"]
    assert [key["name"].startswith("mreg on ") for key in keys] == [True]


def test_a_temporary_password_is_replaced_at_the_login_that_creates_the_key(registry_server, tenant, profile_file):
    body = {"username": "tom", "password": PASSWORD, "email": "tom@example.org", "temporary": True}
    tenant.call("POST", "/v1/users", tenant.token("ada"), json=body)
    login = ["login", "--url", registry_server.url, "--tenant", tenant.id, "--username", "tom", "--password-stdin"]

    refused = mreg(*login, stdin=PASSWORD + "\n")
    changed = mreg(*login, "--new-password", stdin=PASSWORD + "\nquartz meadow violin 7\n")

    assert refused.returncode == 4, refused.stderr  # unauthorized: the server says how to go on
    assert "new_password" in refused.stderr
    assert changed.returncode == 0, changed.stderr
    assert "mrk_" in profile_file.read_text()
    assert mreg(*login, stdin="quartz meadow violin 7\n").returncode == 0


def test_push_ls_show_alias_pull_and_rm_from_the_shell(logged_in, tmp_path):
    model = random_file(tmp_path / "model.onnx", 200_000)

    pushed = mreg(
        "--json", "push", "resnet50", str(model), "-m", "accuracy=0.93", "-m", "run=nightly", "-t", "vision",
        "--label", "v1.0",
    )  # fmt: skip
    assert pushed.returncode == 0, pushed.stderr
    assert json.loads(pushed.stdout)["label"] == "v1.0"
    assert json.loads(pushed.stdout)["metadata"] == [
        {"name": "accuracy", "value": 0.93},
        {"name": "run", "value": "nightly"},
    ]

    assert mreg("alias", "set", "resnet50", "production", "1").returncode == 0
    listed = json.loads(mreg("--json", "ls", "--filter", '{"aliases": "production"}').stdout)
    assert [item["name"] for item in listed] == ["resnet50"]
    assert "@production" in mreg("show", "grace/resnet50").stdout
    assert "v1 (v1.0)" in mreg("show", "grace/resnet50").stdout
    assert json.loads(mreg("--json", "search", "RESNET").stdout)[0]["aliases"] == {"production": 1}

    pulled = mreg("pull", "grace/resnet50@production", str(tmp_path / "deploy") + "/")
    assert pulled.returncode == 0, pulled.stderr
    assert (tmp_path / "deploy" / "model.onnx").read_bytes() == model.read_bytes()

    refused = mreg("rm", "resnet50")  # stdin is not a terminal: no silent deletion
    assert refused.returncode == 10
    assert mreg("rm", "grace/resnet50@production").returncode == 10
    removed_alias = mreg("alias", "rm", "resnet50", "production")
    assert removed_alias.returncode == 0, removed_alias.stderr
    assert mreg("rm", "--yes", "resnet50").returncode == 0
    assert mreg("show", "resnet50").returncode == 3


def test_exit_codes_tell_failures_apart(logged_in, registry_server, tenant, tmp_path, profile_file):
    model = random_file(tmp_path / "model.onnx", 1_000)
    assert mreg("push", "taken", str(model)).returncode == 0

    assert mreg("show", "grace/nothing-here").returncode == 3  # not found
    assert mreg("alias", "set", "taken", "Bad Name", "1").returncode == 7  # invalid request
    olive = tenant.key("olive", ["read"])
    env = {**os.environ, "REGISTRY_KEY": olive}
    assert mreg("push", "mine", str(model), env=env).returncode == 5  # forbidden: a read key
    assert mreg("whoami", env={**os.environ, "REGISTRY_KEY": olive[:-3] + "zzz"}).returncode == 4  # unauthorized
    nowhere = {**os.environ, "REGISTRY_URL": f"http://127.0.0.1:{free_port()}"}
    assert mreg("--timeout", "2", "whoami", env=nowhere).returncode == 8  # network
    assert mreg("rm", "nothing").returncode == 10  # declined before any request


def test_tenants_lists_them_for_the_api_token_holder(registry_server, tenant, profile_file):
    env = {**os.environ, "REGISTRY_URL": registry_server.url, "REGISTRY_API_TOKEN": registry_server.api_token}

    result = mreg("--json", "tenants", env=env)

    assert result.returncode == 0, result.stderr
    assert tenant.id in [entry["_id"] for entry in json.loads(result.stdout)]


def test_the_help_names_every_command():
    result = mreg("--help")
    for command in ("login", "whoami", "ls", "search", "show", "push", "pull", "alias", "rm", "tenants"):
        assert command in result.stdout
