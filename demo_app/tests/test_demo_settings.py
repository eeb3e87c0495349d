"""DEMO, DEFAULT_TENANT_DEMO, DEMO_PASSWORD and SIGNIN_TENANT_LIST as the start-up reads them."""

from __future__ import annotations

import json

import pytest

from testing.helpers import manage_check


@pytest.mark.parametrize(("variable", "value"), [("DEMO", "sometimes"), ("SIGNIN_TENANT_LIST", "please")])
def test_a_switch_that_is_no_boolean_stops_the_start_up(tmp_path, variable, value):
    result = manage_check(tmp_path, **{variable: value})

    assert result.returncode != 0
    assert f"{variable}: expected true or false" in result.stderr


def test_the_demo_tenant_cannot_be_the_default_tenant(tmp_path):
    result = manage_check(tmp_path, DEMO="true", DEFAULT_TENANT_DEMO="registry-default-tenant")

    assert result.returncode != 0
    assert "DEFAULT_TENANT_DEMO: must differ from DEFAULT_TENANT" in result.stderr


def test_a_weak_demo_password_stops_the_start_up(tmp_path):
    result = manage_check(tmp_path, DEMO="true", DEMO_PASSWORD="password")

    assert result.returncode != 0
    assert "DEMO_PASSWORD: too weak" in result.stderr


def test_the_demo_password_is_generated_only_with_demo(tmp_path):
    assert manage_check(tmp_path / "off").returncode == 0
    assert manage_check(tmp_path / "on", DEMO="true").returncode == 0

    assert "DEMO_PASSWORD" not in json.loads((tmp_path / "off" / "secrets.json").read_text())
    assert len(json.loads((tmp_path / "on" / "secrets.json").read_text())["DEMO_PASSWORD"]) >= 16
