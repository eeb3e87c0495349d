"""The client's guide stays true to the command line it documents."""

from __future__ import annotations

from pathlib import Path

from registry_client.cli import reference

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "client.md"


def test_the_guides_command_reference_is_the_parsers_own_help():
    text = GUIDE.read_text()
    documented = text.split("<!-- cli-reference -->\n", 1)[1].split("<!-- /cli-reference -->", 1)[0]

    assert documented == reference(), "regenerate the reference in docs/client.md (see the section's first lines)"
