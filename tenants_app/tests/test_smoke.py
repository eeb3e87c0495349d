from testing.helpers import error_of


def test_admin_lists_users(acme, admin):
    response = admin.get("/v1/users")
    assert response.status_code == 200, response.content
    assert response.json()["totalDocs"] == 3


def test_other_tenant_sees_only_its_users(acme, other_tenant):
    response = other_tenant.get("/v1/users")
    assert [u["username"] for u in response.json()["docs"]] == ["gus"]


def test_unknown_route(anonymous):
    assert error_of(anonymous.get("/v1/nope")) == (404, "resource_not_found")
