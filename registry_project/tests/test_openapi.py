"""The OpenAPI document: served by the registry, committed as docs/openapi.yaml, and honoured by the API.

The fuzz test runs schemathesis with the served schema against the live server, authenticated, on every operation with a
bounded number of generated requests: no request may cause a 5xx, and every documented response must
match its schema.
"""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import schemathesis
from django.conf import settings
from django.core.management import call_command
from hypothesis import HealthCheck, strategies
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance

COMMITTED = Path(settings.BASE_DIR) / "docs" / "openapi.yaml"
# A resumable upload's chunk (tus): raw bytes, which schemathesis generates only when told the media type.
schemathesis.openapi.media_type("application/offset+octet-stream", strategies.binary(max_size=256))


def generated_schema() -> str:
    output = StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=output)
    return output.getvalue()


def test_the_committed_schema_matches_the_code():
    """Regenerate it with `make schema` when the API changes."""
    assert COMMITTED.read_text() == generated_schema(), "docs/openapi.yaml is stale: run `make schema`"


def test_the_schema_and_the_interactive_docs_are_served_by_the_registry_itself(anonymous):
    schema = anonymous.get("/v1/schema")
    docs = anonymous.get("/docs.html")
    redoc = anonymous.get("/redoc.html")

    assert schema.status_code == 200
    assert b"/v1/models/{id}/versions" in schema.content
    assert docs.status_code == 200
    assert redoc.status_code == 200
    for page in (docs.content.decode(), redoc.content.decode()):
        assert "/static/drf_spectacular_sidecar/" in page
        assert "cdn" not in page.lower()
        assert "https://" not in page  # nothing (fonts, scripts) is loaded from elsewhere
    for response in (docs, redoc):
        assert "script-src 'self'" in response["Content-Security-Policy"]


def test_every_route_declares_the_jwt_security_scheme_or_none():
    import yaml

    document = yaml.safe_load(COMMITTED.read_text())
    schemes = document["components"]["securitySchemes"]
    assert set(schemes) == {"JWT", "ApiToken"}
    tenants = document["paths"]["/v1/tenants"]["get"]["security"]
    assert tenants == [{"ApiToken": []}]
    assert document["paths"]["/v1/models"]["get"]["security"] == [{"JWT": []}]
    upload = document["paths"]["/v1/models/{id}/versions"]["post"]["requestBody"]["content"]
    assert set(upload) == {"multipart/form-data", "application/octet-stream"}


# The committed document is the served one (test_the_committed_schema_matches_the_code); requests go to
# the live server over HTTP.
# /v1/algorithms is served by the same viewset and schema code as /v1/models (algorithms_app/kind.py has the
# models' traits): fuzzing it too would add a fifth of this test's time and no new path.
schema = schemathesis.openapi.from_path(COMMITTED).exclude(path_regex="^/v1/algorithms")


@schema.parametrize()
@hypothesis_settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_api_honours_its_schema(case, live_url, acme):
    authorization = settings.API_TOKEN if case.path.startswith("/v1/tenants") else acme.token("ada")
    case.call_and_validate(
        base_url=live_url,
        headers={"Authorization": authorization},
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
    )
