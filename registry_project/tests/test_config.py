"""Configuration from the environment (§8): typed readers that reject nonsense, naming the variable."""

from __future__ import annotations

import json
import os
import stat

import pytest

from registry_project.config import (
    ConfigurationError,
    SecretStore,
    env_bool,
    env_choice,
    env_duration,
    env_float,
    env_int,
    env_optional,
    env_size,
    env_str,
    parse_duration,
    parse_size,
)
from testing.helpers import manage_check

VARIABLE = "REGISTRY_TEST_SETTING"
MiB = 1024**2
GiB = 1024**3


@pytest.fixture(autouse=True)
def _unset(monkeypatch):
    """The variables these tests play with start out unset (also their ``_FILE`` spelling)."""
    for name in (VARIABLE, "REGISTRY_TEST_SECRET", "REGISTRY_TEST_OTHER_SECRET"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)


# ------------------------------------------------------------------ durations and sizes


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("1h", 3600), ("45s", 45), ("3600", 3600), ("2d", 172800), ("50m", 3000), (" 1H ", 3600)],
)
def test_a_duration_is_read_in_seconds(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", " ", "abc", "-5", "0", "0m", "5x", "1.5h", "h", "1h30m", "soon"])
def test_a_nonsense_duration_is_refused(text):
    with pytest.raises(ValueError):  # noqa: PT011 - the parsers raise a bare ValueError by design
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("4M", 4 * MiB),
        ("10G", 10 * GiB),
        ("500M", 500 * MiB),
        ("64k", 64 * 1024),
        ("4MiB", 4 * MiB),
        ("1024", 1024),
        ("2T", 2 * 1024**4),
    ],
)
def test_a_size_is_read_in_binary_units(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "lots", "-1", "0", "0M", "4X", "4.5M", "M", "4 MB extra", "10GG"])
def test_a_nonsense_size_is_refused(text):
    with pytest.raises(ValueError):  # noqa: PT011 - the parsers raise a bare ValueError by design
        parse_size(text)


# ------------------------------------------------------------------ typed readers


@pytest.mark.parametrize(("text", "value"), [("true", True), ("1", True), ("yes", True), ("On", True)])
def test_env_bool_reads_true(monkeypatch, text, value):
    monkeypatch.setenv(VARIABLE, text)

    assert env_bool(VARIABLE, False) is value


@pytest.mark.parametrize(("text", "value"), [("false", False), ("0", False), ("no", False), ("OFF", False)])
def test_env_bool_reads_false(monkeypatch, text, value):
    monkeypatch.setenv(VARIABLE, text)

    assert env_bool(VARIABLE, True) is value


def test_an_unset_variable_takes_the_default():
    assert env_bool(VARIABLE, True) is True
    assert env_int(VARIABLE, 7) == 7
    assert env_float(VARIABLE, 1.1) == 1.1
    assert env_choice(VARIABLE, "local", {"local", "s3"}) == "local"
    assert env_duration(VARIABLE, "30m") == 1800
    assert env_size(VARIABLE, "10G") == 10 * GiB
    assert env_str(VARIABLE, "fallback") == "fallback"
    assert env_optional(VARIABLE) is None


def test_a_size_that_may_be_zero_reads_zero_and_sizes(monkeypatch):
    monkeypatch.setenv(VARIABLE, "0")
    assert env_size(VARIABLE, "64M", zero_allowed=True) == 0
    monkeypatch.setenv(VARIABLE, "2M")
    assert env_size(VARIABLE, "64M", zero_allowed=True) == 2 * 1024 * 1024


def test_an_empty_variable_takes_the_default(monkeypatch):
    monkeypatch.setenv(VARIABLE, "")

    assert env_duration(VARIABLE, "30m") == 1800
    assert env_int(VARIABLE, 7) == 7


@pytest.mark.parametrize(
    ("reader", "text"),
    [
        (lambda: env_bool(VARIABLE, False), "yes please"),
        (lambda: env_int(VARIABLE, 1), "ten"),
        (lambda: env_int(VARIABLE, 1), "1.5"),
        (lambda: env_int(VARIABLE, 1, minimum=1, maximum=65535), "70000"),
        (lambda: env_int(VARIABLE, 1, minimum=1), "0"),
        (lambda: env_float(VARIABLE, 1.1), "cheap"),
        (lambda: env_float(VARIABLE, 1.1), "nan"),
        (lambda: env_float(VARIABLE, 1.1, minimum=0.01, maximum=100), "0"),
        (lambda: env_choice(VARIABLE, "local", {"local", "s3"}), "ftp"),
        (lambda: env_duration(VARIABLE, "30m"), "soon"),
        (lambda: env_duration(VARIABLE, "30m"), "-5m"),
        (lambda: env_size(VARIABLE, "10G"), "lots"),
        (lambda: env_size(VARIABLE, "10G"), "0"),
    ],
)
def test_a_nonsense_value_is_a_configuration_error_naming_the_variable(monkeypatch, reader, text):
    monkeypatch.setenv(VARIABLE, text)

    with pytest.raises(ConfigurationError, match=VARIABLE):
        reader()


def test_the_readers_return_typed_values(monkeypatch):
    monkeypatch.setenv(VARIABLE, "42")
    assert env_int(VARIABLE, 1) == 42

    monkeypatch.setenv(VARIABLE, "1.5")
    assert env_float(VARIABLE, 1.1) == 1.5

    monkeypatch.setenv(VARIABLE, "s3")
    assert env_choice(VARIABLE, "local", {"local", "s3"}) == "s3"

    monkeypatch.setenv(VARIABLE, "1h")
    assert env_duration(VARIABLE, "30m") == 3600

    monkeypatch.setenv(VARIABLE, "500M")
    assert env_size(VARIABLE, "10G") == 500 * MiB


# ------------------------------------------------------------------ NAME_FILE


def test_a_value_can_come_from_the_file_named_by_name_file(monkeypatch, tmp_path):
    secret = tmp_path / "setting.txt"
    secret.write_text("from-the-file\n")
    monkeypatch.setenv(f"{VARIABLE}_FILE", str(secret))

    assert env_str(VARIABLE, "fallback") == "from-the-file"
    assert env_optional(VARIABLE) == "from-the-file"


def test_typed_readers_accept_name_file_too(monkeypatch, tmp_path):
    secret = tmp_path / "lifetime.txt"
    secret.write_text("2h")
    monkeypatch.setenv(f"{VARIABLE}_FILE", str(secret))

    assert env_duration(VARIABLE, "30m") == 7200


def test_the_variable_itself_wins_over_name_file(monkeypatch, tmp_path):
    secret = tmp_path / "setting.txt"
    secret.write_text("from-the-file")
    monkeypatch.setenv(f"{VARIABLE}_FILE", str(secret))
    monkeypatch.setenv(VARIABLE, "from-the-environment")

    assert env_str(VARIABLE, "fallback") == "from-the-environment"


def test_an_unreadable_name_file_is_a_configuration_error_naming_it(monkeypatch, tmp_path):
    monkeypatch.setenv(f"{VARIABLE}_FILE", str(tmp_path / "missing.txt"))

    with pytest.raises(ConfigurationError, match=f"{VARIABLE}_FILE"):
        env_str(VARIABLE, "fallback")


def test_nonsense_in_a_name_file_is_refused_like_nonsense_in_the_variable(monkeypatch, tmp_path):
    secret = tmp_path / "flag.txt"
    secret.write_text("perhaps")
    monkeypatch.setenv(f"{VARIABLE}_FILE", str(secret))

    with pytest.raises(ConfigurationError, match=VARIABLE):
        env_bool(VARIABLE, False)


# ------------------------------------------------------------------ generated secrets


def test_a_secret_is_generated_once_and_kept_in_a_private_file(tmp_path):
    path = tmp_path / "data" / "secrets.json"
    store = SecretStore(path)

    value = store.get("REGISTRY_TEST_SECRET")

    assert len(value) >= 32
    assert store.is_generated("REGISTRY_TEST_SECRET")
    assert json.loads(path.read_text()) == {"REGISTRY_TEST_SECRET": value}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert store.get("REGISTRY_TEST_SECRET") == value


def test_another_process_reads_the_same_generated_secret(tmp_path):
    path = tmp_path / "secrets.json"
    first = SecretStore(path).get("REGISTRY_TEST_SECRET")

    assert SecretStore(path).get("REGISTRY_TEST_SECRET") == first


def test_each_secret_gets_its_own_value_and_the_file_keeps_them_all(tmp_path):
    path = tmp_path / "secrets.json"
    store = SecretStore(path)

    one = store.get("REGISTRY_TEST_SECRET")
    two = store.get("REGISTRY_TEST_OTHER_SECRET")

    assert one != two
    assert json.loads(path.read_text()) == {"REGISTRY_TEST_SECRET": one, "REGISTRY_TEST_OTHER_SECRET": two}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert SecretStore(path).get("REGISTRY_TEST_SECRET") == one


def test_a_secret_from_the_environment_wins_over_the_file(monkeypatch, tmp_path):
    path = tmp_path / "secrets.json"
    SecretStore(path).get("REGISTRY_TEST_SECRET")
    monkeypatch.setenv("REGISTRY_TEST_SECRET", "chosen-by-the-operator")

    store = SecretStore(path)

    assert store.get("REGISTRY_TEST_SECRET") == "chosen-by-the-operator"
    assert not store.is_generated("REGISTRY_TEST_SECRET")
    assert "chosen-by-the-operator" not in path.read_text()


def test_a_secret_from_the_environment_is_not_written_to_the_file(monkeypatch, tmp_path):
    path = tmp_path / "secrets.json"
    monkeypatch.setenv("REGISTRY_TEST_SECRET", "chosen-by-the-operator")

    assert SecretStore(path).get("REGISTRY_TEST_SECRET") == "chosen-by-the-operator"
    assert not path.exists()


@pytest.mark.parametrize("weak", ["abc123", "secret", "x", "a" * 64, "ab" * 20])
def test_a_weak_secret_from_the_environment_is_refused_naming_the_variable(monkeypatch, tmp_path, weak):
    monkeypatch.setenv("REGISTRY_TEST_SECRET", weak)

    with pytest.raises(ConfigurationError, match="REGISTRY_TEST_SECRET: too weak; use at least 24"):
        SecretStore(tmp_path / "secrets.json").get("REGISTRY_TEST_SECRET", minimum_length=24)


@pytest.mark.parametrize(("name", "value"), [("API_TOKEN", "abc123"), ("JWT_SECRET", "secret"), ("SECRET_KEY", "x")])
def test_the_registry_refuses_to_start_with_a_weak_secret(tmp_path, name, value):
    import subprocess
    import sys

    from django.conf import settings

    environment = {**os.environ, "DATA_DIR": str(tmp_path), name: value}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=settings.BASE_DIR, env=environment, capture_output=True, text=True
    )

    assert result.returncode != 0
    assert f"configuration error: {name}: too weak" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_corrupt_secrets_file_is_a_configuration_error(tmp_path):
    path = tmp_path / "secrets.json"
    path.write_text("{not json")

    with pytest.raises(ConfigurationError, match="secrets"):
        SecretStore(path).get("REGISTRY_TEST_SECRET")


# ------------------------------------------------------------------ start-up stops on nonsense


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("JWT_EXPIRATIONTIME", "soon"),
        ("MAX_UPLOAD_SIZE", "lots"),
        ("LOG", "sometimes"),
        ("HTTP_PORT", "eighty"),
        ("STORAGE", "floppy"),
    ],
)
def test_start_up_stops_with_a_message_naming_a_malformed_variable(tmp_path, variable, value):
    result = manage_check(tmp_path, **{variable: value})

    assert result.returncode != 0
    assert variable in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_start_up_passes_with_a_sound_configuration(tmp_path):
    result = manage_check(tmp_path, JWT_EXPIRATIONTIME="1h", JWT_RENEW_EXPIRATIONTIME="2h", MAX_UPLOAD_SIZE="500M")

    assert result.returncode == 0, result.stderr
