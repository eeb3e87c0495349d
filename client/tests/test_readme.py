"""The README's Python snippets run as written, against the real registry."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx

README = Path(__file__).resolve().parents[2] / "README.md"


def snippets() -> list[str]:
    section = README.read_text().split("## From Python", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)\n```", section, re.DOTALL)


def test_the_readme_registers_in_three_lines_and_pulls_in_one(registry_server, grace_key, tmp_path, profile_file):
    register, pull = snippets()
    assert len([line for line in register.splitlines() if line and not line.startswith("#")]) == 3
    assert len([line for line in pull.splitlines() if line and not line.startswith(("#", "from "))]) == 1
    (tmp_path / "model.onnx").write_bytes(b"weights")
    env = {"REGISTRY_URL": registry_server.url, "REGISTRY_KEY": grace_key, "REGISTRY_CONFIG": str(profile_file)}

    subprocess.run([sys.executable, "-c", register], cwd=tmp_path, env=env, check=True)  # noqa: S603
    moved = httpx.put(
        f"{registry_server.url}/v1/models/by-name/grace/resnet50/aliases/production",
        json={"version": 1},
        headers={"Authorization": f"Bearer {grace_key}"},
    )
    assert moved.status_code == 200, moved.text
    subprocess.run([sys.executable, "-c", pull], cwd=tmp_path, env=env, check=True)  # noqa: S603

    assert (tmp_path / "models" / "model.onnx").read_bytes() == b"weights"
