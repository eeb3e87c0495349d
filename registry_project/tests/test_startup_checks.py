"""A registry that cannot start as configured says so in a line or two naming the setting and the fix, exits
with a non-zero status and prints no traceback: ``manage.py bootstrap`` (the first half of ``make run``) for
the database server, the data folders and S3, gunicorn as ``make run`` starts it for the port.

The PostgreSQL server checks that need a running server (the catalog created, a role refused or without
CREATEDB) are in ``test_postgres_startup.py``, in the PostgreSQL run.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from testing.helpers import assert_refused, manage
from testing.servers import free_port, registry_environment

SECRET = "hunter2-never-printed"


# ------------------------------------------------------------------ the database server


def test_a_database_server_that_does_not_answer_is_named_with_its_address_and_the_fix(tmp_path):
    port = free_port()  # nothing listens there

    result = manage("bootstrap", tmp_path, DATABASE=f"postgres://registry:{SECRET}@127.0.0.1:{port}/registry_catalog")

    message = assert_refused(result, "DATABASE: no PostgreSQL server answers at", f"127.0.0.1:{port}", "Start it")
    assert SECRET not in message
    assert f"postgres://registry:***@127.0.0.1:{port}/registry_catalog" in message


# ------------------------------------------------------------------ the data folders


def test_a_data_dir_that_cannot_be_written_stops_the_start_naming_data_dir(tmp_path):
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("not a folder")

    result = manage("bootstrap", in_the_way)

    assert_refused(result, "DATA_DIR:", str(in_the_way), "set DATA_DIR to another folder")


def test_an_upload_path_that_cannot_be_written_stops_the_start_naming_upload_path(tmp_path):
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("not a folder")

    result = manage("bootstrap", tmp_path / "data", UPLOAD_PATH=str(in_the_way))

    assert_refused(result, "UPLOAD_PATH:", str(in_the_way), "set UPLOAD_PATH to another folder")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_a_read_only_data_dir_stops_the_start_naming_data_dir(tmp_path):
    read_only = tmp_path / "data"
    read_only.mkdir(mode=0o555)

    result = manage("bootstrap", read_only)

    assert_refused(result, "DATA_DIR:", "Permission denied")


# ------------------------------------------------------------------ S3


def s3_variables(s3_server, **overrides: str) -> dict[str, str]:
    return {
        "STORAGE": "s3",
        "AWS_S3_ENDPOINT_URL": s3_server.endpoint,
        "AWS_ACCESS_KEY_ID": s3_server.access_key,
        "AWS_SECRET_ACCESS_KEY": s3_server.secret_key,
        "AWS_STORAGE_BUCKET_NAME": s3_server.bucket,
        **overrides,
    }


def test_s3_credentials_the_service_refuses_are_named_with_the_fix(tmp_path, s3_server):
    result = manage("bootstrap", tmp_path, **s3_variables(s3_server, AWS_SECRET_ACCESS_KEY=SECRET))

    message = assert_refused(result, "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY:", "Fix the credentials")
    assert SECRET not in message


def test_an_s3_endpoint_where_nothing_listens_is_named_with_the_fix(tmp_path, s3_server):
    endpoint = f"http://127.0.0.1:{free_port()}"

    result = manage("bootstrap", tmp_path, **s3_variables(s3_server, AWS_S3_ENDPOINT_URL=endpoint))

    assert_refused(result, "AWS_S3_ENDPOINT_URL:", endpoint, "cannot be reached")


def test_a_bucket_that_cannot_be_created_is_named_with_the_fix(tmp_path, s3_server):
    result = manage("bootstrap", tmp_path, **s3_variables(s3_server, AWS_STORAGE_BUCKET_NAME="Not_A-Valid.Bucket"))

    assert_refused(result, "AWS_STORAGE_BUCKET_NAME:", "'Not_A-Valid.Bucket'", "is missing and could not be created")


def test_a_missing_bucket_is_created_at_first_start(tmp_path, s3_server):
    from testing.seaweed import client

    bucket = "registry-created-at-start"

    result = manage("bootstrap", tmp_path, **s3_variables(s3_server, AWS_STORAGE_BUCKET_NAME=bucket))

    assert result.returncode == 0, result.stdout + result.stderr
    client(s3_server).head_bucket(Bucket=bucket)  # type: ignore[attr-defined]  # raises if it is missing


# ------------------------------------------------------------------ the port


@pytest.fixture
def port_in_use() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_a_port_in_use_stops_the_server_at_once_naming_the_port_setting(tmp_path, port_in_use):
    environment = registry_environment(tmp_path / "data", port_in_use)
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))

    result = subprocess.run(  # noqa: S603 - our own server, fixed arguments
        [gunicorn, "-c", "gunicorn.conf.py"],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert_refused(result, f"HTTP_PORT: port {port_in_use} on 127.0.0.1 is already in use", "another port")
    assert "Retrying" not in result.stderr  # gunicorn's own five attempts never start
