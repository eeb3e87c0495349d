"""The README's five-minute recipe works as written: it runs, unchanged, against a server started as
``make run`` starts it (``testing.servers.made_run``), twice."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from testing.servers import free_port, made_run, registry_environment

MARKER = "<!-- recipe -->"
BASH = shutil.which("bash") or "/bin/bash"  # the shell a reader pastes the recipe into


def recipe() -> str:
    """The fenced ``bash`` block that follows the marker in README.md."""
    text = (Path(settings.BASE_DIR) / "README.md").read_text()
    after = text.split(MARKER, 1)[1]
    match = re.match(r"\s*```bash\n(.*?)\n```", after, re.DOTALL)
    assert match, "README.md: no ```bash block after the recipe marker"
    return match.group(1)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A registry on its embedded defaults in a fresh data directory, as a new user's `make run` serves it."""
    port = free_port()
    environment = registry_environment(tmp_path / "var", port)
    for name in ("API_TOKEN", "JWT_SECRET", "SECRET_KEY"):  # the test run's own: generated, as on a new machine
        environment.pop(name, None)
    with made_run(environment, tmp_path / "gunicorn.log", ports=[port]):
        # the password the reader chooses for the admin before pasting the recipe (its first one is temporary)
        yield {**environment, "REGISTRY": f"http://127.0.0.1:{port}", "ADMIN_NEW_PASSWORD": "my own admin passphrase"}


def test_the_readme_recipe_runs_as_written_and_again(served):
    for attempt in (1, 2):  # the recipe names what it creates uniquely, so a user can run it again
        result = subprocess.run(  # noqa: S603 - the README's own block
            [BASH, "-c", recipe()], env=served, capture_output=True, text=True, timeout=120, check=False
        )
        assert result.returncode == 0, f"attempt {attempt}:\n{result.stdout}\n{result.stderr}"
        assert "downloaded.onnx: OK" in result.stdout
        assert "deployed.onnx: OK" in result.stdout  # the deployment's download of @production
        assert "tenants share nothing" in result.stdout
