"""The /manage/ pages for users, the audit log and the overview: who may open them, and what each action does."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tenants_app import databases, tenancy
from tenants_app.models import AuditEntry, Role, User
from testing.helpers import PASSWORD, signed_in_client

NEW_PASSWORD = "a fresh and rather long passphrase"


@pytest.fixture
def ada(acme: Any) -> Any:
    return signed_in_client("acme", "ada")


@pytest.fixture
def reggie(acme: Any) -> Any:
    return signed_in_client("acme", "reggie")


@pytest.fixture
def gus(globex: Any) -> Any:
    return signed_in_client("globex", "gus")


def text_of(response: Any) -> str:
    """The page's text without tags, entities decoded and whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def field_error(response: Any, field: str) -> str:
    """The error shown next to ``field`` (the element its input's aria-describedby names), or ''."""
    match = re.search(rf'id="id_{field}_error">(.*?)</div>', response.content.decode(), re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split()) if match else ""


def table_rows(response: Any) -> list[str]:
    """The text of each body row of the page's table."""
    rows = re.findall(r"<tr>(.*?)</tr>", response.content.decode(), re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split()) for row in rows if "<td" in row]


def audit(handle: Any, **filters: Any) -> list[AuditEntry]:
    with tenancy.using_tenant(handle.tenant):
        return list(AuditEntry.objects.filter(**filters))


def create_model(handle: Any, owner: str, name: str = "churn") -> dict[str, Any]:
    response = handle.client(owner).post("/v1/models", {"name": name}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def page_urls(acme: Any) -> list[tuple[str, str]]:
    reggie_id = acme.user("reggie").pk
    return [
        ("get", "/manage/"),
        ("get", "/manage/users/"),
        ("get", "/manage/users/new/"),
        ("post", "/manage/users/new/"),
        ("get", f"/manage/users/{reggie_id}/"),
        ("post", f"/manage/users/{reggie_id}/role/"),
        ("post", f"/manage/users/{reggie_id}/password/"),
        ("get", f"/manage/users/{reggie_id}/delete/"),
        ("post", f"/manage/users/{reggie_id}/delete/"),
        ("get", "/manage/log/"),
        ("get", "/manage/vocabulary/"),
    ]


# ------------------------------------------------------------------ who may open the pages


def test_anonymous_visitors_are_sent_to_sign_in_and_back(acme, client):
    for method, url in page_urls(acme):
        response = getattr(client, method)(url)

        assert response.status_code == 302, url
        assert response["Location"].startswith("/signin/?next="), url
        assert response["Location"].endswith(url.replace("/", "%2F")), url


def test_regular_users_get_the_403_page_everywhere_and_change_nothing(acme, reggie):
    for method, url in page_urls(acme):
        data = {"username": "mallory", "email": "m@example.org", "role": "admin", "password": NEW_PASSWORD}
        response = getattr(reggie, method)(url, data) if method == "post" else reggie.get(url)

        assert response.status_code == 403, url
        assert "You cannot open this page" in text_of(response)
    assert acme.count(User, username="mallory") == 0
    assert acme.user("reggie").role == Role.REGULAR
    assert acme.user("reggie").check_password(PASSWORD)
    assert acme.count(User, username="reggie") == 1


def test_regular_users_see_no_manage_link_but_admins_do(acme, reggie, ada):
    assert 'href="/manage/"' not in reggie.get("/manage/").content.decode()
    assert 'href="/manage/"' in ada.get("/manage/").content.decode()


def test_the_admin_of_another_tenant_sees_only_their_own_tenant(acme, globex, gus):
    users = text_of(gus.get("/manage/users/"))
    assert "gus" in users
    assert "ada" not in users
    assert "reggie" not in users

    assert gus.get(f"/manage/users/{acme.user('reggie').pk}/").status_code == 404
    assert gus.post(f"/manage/users/{acme.user('reggie').pk}/delete/").status_code == 404
    assert acme.count(User, username="reggie") == 1
    log = text_of(gus.get("/manage/log/"))
    assert "globex" in log
    assert "acme" not in log


def test_a_signed_session_of_a_deleted_tenant_is_signed_out(acme, ada):
    from tenants_app import services
    from tenants_app.audit import Caller

    services.delete_tenant(Caller(user=None, name="<tests>"), acme.tenant)

    response = ada.get("/manage/")
    assert response.status_code == 302
    assert response["Location"].startswith("/signin/")


# ------------------------------------------------------------------ overview


def test_the_overview_counts_and_links_the_three_sections(acme, ada):
    response = ada.get("/manage/")

    assert response.status_code == 200
    page = response.content.decode()
    for url in ("/manage/users/", "/manage/vocabulary/tags/", "/manage/log/"):
        assert f'href="{url}"' in page
    assert "3 users, 1 admin" in text_of(response)


def test_the_vocabulary_address_leads_to_the_tags(acme, ada):
    response = ada.get("/manage/vocabulary/")

    assert response.status_code == 302
    assert response["Location"] == "/manage/vocabulary/tags/"


# ------------------------------------------------------------------ user list


def test_the_user_list_shows_every_user_with_role_and_items(acme, ada):
    create_model(acme, "reggie")

    response = ada.get("/manage/users/")

    assert response.status_code == 200
    rows = {row.split()[0]: row for row in table_rows(response)}
    assert sorted(rows) == ["ada", "olive", "reggie"]
    assert rows["ada"].startswith("ada (you) — Administrator 0")
    assert rows["reggie"].startswith("reggie reggie@example.org Regular user 1")


def test_the_user_list_filters_by_role_and_by_text(acme, ada):
    admins = text_of(ada.get("/manage/users/?role=admin"))
    assert "ada" in admins
    assert "reggie" not in admins

    found = text_of(ada.get("/manage/users/?q=REGG"))
    assert "reggie" in found
    assert "olive" not in found

    by_mail = text_of(ada.get("/manage/users/?q=olive@example"))
    assert "olive" in by_mail
    assert "reggie" not in by_mail

    none = ada.get("/manage/users/?q=a.b+c(d")
    assert none.status_code == 200
    assert "No users match these filters." in text_of(none)


def test_the_user_list_pages_through_many_users(acme, ada):
    for number in range(30):
        acme.add_user(f"user{number:02}")

    first = text_of(ada.get("/manage/users/"))
    second = text_of(ada.get("/manage/users/?page=2"))
    beyond = ada.get("/manage/users/?page=9")

    assert "1\u201325 of 33 users" in first
    assert "Page 1 of 2" in first
    assert "26\u201333 of 33 users" in second
    assert "user29" in second
    assert "user00" not in second
    assert beyond.status_code == 200
    assert "This page is empty." in text_of(beyond)
    assert ada.get("/manage/users/?page=zero").status_code == 400


def tenant_queries(handle: Any, call: Any) -> int:
    connection = connections[databases.alias_for(handle.tenant.database)]
    with CaptureQueriesContext(connection) as queries:
        response = call()
    assert response.status_code == 200
    return len(queries)


def test_the_user_list_and_the_log_take_the_same_number_of_queries_for_many_rows(acme, ada):
    few_users = tenant_queries(acme, lambda: ada.get("/manage/users/"))
    few_entries = tenant_queries(acme, lambda: ada.get("/manage/log/"))
    for number in range(20):
        acme.add_user(f"user{number:02}")
        create_model(acme, f"user{number:02}")

    assert tenant_queries(acme, lambda: ada.get("/manage/users/")) == few_users <= 4
    assert tenant_queries(acme, lambda: ada.get("/manage/log/")) == few_entries <= 4


# ------------------------------------------------------------------ creating users


def new_user(**overrides: str) -> dict[str, str]:
    return {"username": "grace", "email": "Grace@Example.org", "role": "regular", "password": NEW_PASSWORD, **overrides}


def test_an_admin_creates_a_user_with_a_hashed_password(acme, ada):
    response = ada.post("/manage/users/new/", new_user(role="admin"), follow=True)

    assert response.redirect_chain == [("/manage/users/", 302)]
    assert "User grace created." in text_of(response)
    grace = acme.user("grace")
    assert grace.role == Role.ADMIN
    assert grace.email == "grace@example.org"
    assert grace.password != NEW_PASSWORD
    assert grace.check_password(NEW_PASSWORD)
    [entry] = audit(acme, action="create", resource="user")
    assert (entry.actor, entry.target, entry.result) == ("ada", "grace", "success")


def test_the_create_form_has_labelled_fields(acme, ada):
    page = ada.get("/manage/users/new/").content.decode()

    for field in ("username", "email", "role", "password"):
        assert f'<label for="id_{field}">' in page
    assert 'autocomplete="new-password"' in page
    assert 'aria-describedby="id_password_helptext"' in page


@pytest.mark.parametrize(
    ("data", "status", "field", "message"),
    [
        (new_user(password="short"), 400, "password", "too short"),
        (new_user(password="grace@example.org!"), 400, "password", "too similar"),
        (new_user(username="not valid!"), 400, "username", "Enter a valid username"),
        (new_user(username="0123456789abcdef01234567"), 400, "username", "24-character hexadecimal"),
        (new_user(username="reggie"), 409, "username", "'reggie' is already taken"),
        (new_user(email="OLIVE@example.org"), 409, "email", "already used by another user"),
        (new_user(email="not-an-address"), 400, "email", "Enter a valid email address"),
        (new_user(username=""), 400, "username", "This field is required"),
        (new_user(role="owner"), 400, "role", "Select a valid choice"),
    ],
)
def test_a_refused_user_is_explained_next_to_the_field(acme, ada, data, status, field, message):
    response = ada.post("/manage/users/new/", data)

    assert response.status_code == status
    assert message in field_error(response, field)
    assert 'aria-invalid="true"' in response.content.decode()
    assert acme.count(User) == 3


def test_the_first_field_with_an_error_takes_the_focus(acme, ada):
    page = ada.post("/manage/users/new/", new_user(username="", email="not-an-address")).content.decode()

    [focused] = re.findall(r"<input[^>]*autofocus[^>]*>", page)
    assert 'name="username"' in focused


def test_the_form_keeps_what_was_typed_except_the_password(acme, ada):
    page = ada.post("/manage/users/new/", new_user(password="short")).content.decode()

    assert 'value="grace"' in page
    assert "short" not in re.findall(r'<input[^>]*name="password"[^>]*>', page)[0]


# ------------------------------------------------------------------ changing a user


def test_the_user_page_shows_the_account_but_never_its_password(acme, ada):
    reggie = acme.user("reggie")

    response = ada.get(f"/manage/users/{reggie.pk}/")

    assert response.status_code == 200
    assert "reggie@example.org" in text_of(response)
    assert reggie.password not in response.content.decode()
    assert reggie.password.rsplit("$", 1)[-1] not in response.content.decode()


def test_an_unknown_user_is_a_404(acme, ada):
    assert ada.get("/manage/users/0123456789abcdef01234567/").status_code == 404


def test_an_admin_changes_a_role(acme, ada):
    url = f"/manage/users/{acme.user('reggie').pk}/"

    response = ada.post(f"{url}role/", {"role": "admin"}, follow=True)

    assert response.redirect_chain == [(url, 302)]
    assert "reggie is now: Administrator." in text_of(response)
    assert acme.user("reggie").role == Role.ADMIN
    [entry] = audit(acme, action="update", resource="user")
    assert entry.details == {"fields": ["role"]}


def test_the_last_admin_cannot_lose_the_role(acme, ada):
    response = ada.post(f"/manage/users/{acme.user('ada').pk}/role/", {"role": "regular"})

    assert response.status_code == 409
    assert "last admin cannot lose the admin role" in field_error(response, "role")
    assert acme.user("ada").role == Role.ADMIN


def test_an_admin_who_gives_up_the_role_leaves_the_manage_pages(acme, ada):
    acme.add_user("adele", role=Role.ADMIN)

    response = ada.post(f"/manage/users/{acme.user('ada').pk}/role/", {"role": "regular"})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert acme.user("ada").role == Role.REGULAR


def test_an_admin_resets_a_password_that_then_signs_in(acme, ada):
    reggie = acme.user("reggie")

    response = ada.post(f"/manage/users/{reggie.pk}/password/", {"password": NEW_PASSWORD}, follow=True)

    assert "The password of reggie was reset" in text_of(response)
    assert acme.user("reggie").check_password(NEW_PASSWORD)
    assert not acme.user("reggie").check_password(PASSWORD)
    signed_in_client("acme", "reggie", NEW_PASSWORD)
    [entry] = audit(acme, action="update", resource="user")
    assert entry.details == {"fields": ["password"]}
    assert NEW_PASSWORD not in str(entry.details)


def test_a_reset_password_must_pass_the_password_rules(acme, ada):
    response = ada.post(f"/manage/users/{acme.user('reggie').pk}/password/", {"password": "1234567890"})

    assert response.status_code == 400
    error = field_error(response, "password")
    assert "too common" in error
    assert "entirely numeric" in error
    assert acme.user("reggie").check_password(PASSWORD)


def test_an_admin_who_resets_their_own_password_stays_signed_in(acme, ada):
    response = ada.post(f"/manage/users/{acme.user('ada').pk}/password/", {"password": NEW_PASSWORD})

    assert response.status_code == 302
    assert ada.get("/manage/").status_code == 200
    assert acme.user("ada").check_password(NEW_PASSWORD)


# ------------------------------------------------------------------ deleting a user


def test_deleting_asks_first_then_deletes(acme, ada):
    url = f"/manage/users/{acme.user('olive').pk}/delete/"

    confirmation = ada.get(url)
    assert confirmation.status_code == 200
    assert "Delete olive?" in text_of(confirmation)
    assert acme.count(User, username="olive") == 1

    response = ada.post(url, follow=True)
    assert response.redirect_chain == [("/manage/users/", 302)]
    assert "User olive deleted." in text_of(response)
    assert acme.count(User, username="olive") == 0
    [entry] = audit(acme, action="delete", resource="user")
    assert (entry.actor, entry.target) == ("ada", "olive")


def test_a_user_who_owns_items_is_not_deleted_and_the_page_says_why(acme, ada):
    create_model(acme, "reggie", "churn")

    response = ada.post(f"/manage/users/{acme.user('reggie').pk}/delete/")

    assert response.status_code == 409
    assert "Not deleted: reggie still owns model churn" in text_of(response)
    assert acme.count(User, username="reggie") == 1


def test_the_last_admin_cannot_be_deleted(acme, ada):
    response = ada.post(f"/manage/users/{acme.user('ada').pk}/delete/")

    assert response.status_code == 409
    assert "the tenant's last admin cannot be deleted" in text_of(response)
    assert acme.count(User, username="ada") == 1


# ------------------------------------------------------------------ audit log


def add_entries(handle: Any, count: int, **fields: Any) -> None:
    now = timezone.now()
    with tenancy.using_tenant(handle.tenant):
        AuditEntry.objects.bulk_create(
            AuditEntry(
                timestamp=fields.get("timestamp", now - timedelta(minutes=number)),
                actor=fields.get("actor", "robot"),
                action=fields.get("action", "download"),
                resource=fields.get("resource", "model"),
                target=f"target-{number:03}",
                result=fields.get("result", "success"),
                address="10.0.0.1",
                details={"ordinal": number},
            )
            for number in range(count)
        )


def test_the_log_lists_the_newest_entries_first_with_their_details(acme, ada):
    add_entries(acme, 2)

    response = ada.get("/manage/log/")

    assert response.status_code == 200
    text = text_of(response)
    assert text.index("target-000") < text.index("target-001")
    assert '{"ordinal": 1}' in text
    assert "10.0.0.1" in text


def test_the_log_filters_by_actor_action_resource_and_result(acme, ada):
    add_entries(acme, 3, actor="robot", action="download")
    add_entries(acme, 2, actor="mallory", action="login", resource="session", result="failure")

    assert text_of(ada.get("/manage/log/?actor=mallory")).count("mallory") == 2
    by_action = text_of(ada.get("/manage/log/?action=download&resource=model"))
    assert "1\u20133 of 3 entries" in by_action
    assert "mallory" not in by_action
    failures = text_of(ada.get("/manage/log/?result=failure"))
    assert "1\u20132 of 2 entries" in failures
    assert "robot" not in failures
    nothing = text_of(ada.get("/manage/log/?actor=mallory&result=success"))
    assert "No entries match these filters." in nothing


def test_the_log_filters_by_a_date_range_including_both_days(acme, ada):
    day = timezone.now().replace(year=2025, month=3, day=10, hour=23, minute=59)
    add_entries(acme, 1, timestamp=day, actor="actor-late")
    add_entries(acme, 1, timestamp=day + timedelta(minutes=2), actor="actor-next-day")
    add_entries(acme, 1, timestamp=day - timedelta(days=1), actor="actor-day-before")

    one_day = [row.split()[2] for row in table_rows(ada.get("/manage/log/?since=2025-03-10&until=2025-03-10"))]
    assert one_day == ["actor-late"]
    from_day = [row.split()[2] for row in table_rows(ada.get("/manage/log/?since=2025-03-10"))]
    assert "actor-late" in from_day
    assert "actor-next-day" in from_day
    assert "actor-day-before" not in from_day


def test_a_backwards_date_range_is_explained_next_to_the_field(acme, ada):
    response = ada.get("/manage/log/?since=2025-03-10&until=2025-03-01")

    assert response.status_code == 400
    assert "before the start date" in field_error(response, "until")


def test_an_unknown_action_is_refused_next_to_the_field(acme, ada):
    response = ada.get("/manage/log/?action=drop_database")

    assert response.status_code == 400
    assert "Select a valid choice" in field_error(response, "action")


def test_the_log_pages_keep_the_filters(acme, ada):
    add_entries(acme, 30, actor="robot")
    add_entries(acme, 5, actor="someone")

    first = ada.get("/manage/log/?actor=robot")
    second = text_of(ada.get("/manage/log/?actor=robot&page=2"))

    assert "1\u201325 of 30 entries" in text_of(first)
    assert 'href="?actor=robot&amp;page=2"' in first.content.decode()
    assert "26\u201330 of 30 entries" in second
    assert "target-029" in second
    assert "someone" not in second


def test_the_log_filter_form_is_labelled(acme, ada):
    page = ada.get("/manage/log/").content.decode()

    for field in ("actor", "action", "resource", "result", "since", "until"):
        assert f'<label for="id_{field}">' in page
    assert 'type="date"' in page
