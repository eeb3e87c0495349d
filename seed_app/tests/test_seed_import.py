"""``manage.py import_seed``: one tenant of the original registry comes over from its operators' dump.

The dumps are built here from the original registry's schemas (its users, tags, metadatas, datasets,
models and algorithms collections, with embedded versions and files named by random keys in its uploads
folder), with the oddities it allowed: plain-text password tenants, shares naming deleted users, duplicate
names, versions whose file is gone, fields its schema does not have, custom ordinals. The imported tenant
is then used through the real API, as its users would.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bcrypt
import bson
import pytest
from bson import ObjectId, json_util
from django.core.management import CommandError, call_command
from django.test import override_settings
from rest_framework.test import APIClient

from framework.files import storage
from registry_project import settings as project_settings
from seed_app.dump import read_dump
from seed_app.importer import import_plan, new_tenant
from seed_app.plan import plan_import
from tenants_app import tenancy
from tenants_app.models import Tenant, User
from testing.helpers import body_of, every_stored_name, stored_keys

TENANT = "measurify"
PASSWORDS = {"ada": "ada-admin-secret", "reggie": "reggie-secret-1", "olive": "olive-secret-1", "oscar": "oscar-secret"}
WITH_SEED_HASHES = [
    "django.contrib.auth.hashers.MD5PasswordHasher",  # the tests' fast hasher (root conftest), first
    "seed_app.hashers.SeedBCryptPasswordHasher",
]
RESNET = b"resnet weights\n" * 5000
RESNET_V2 = b"resnet v2 weights\n" * 4000
IMAGES = b"images\n" * 3000
CREATED = datetime(2023, 3, 14, 15, 9, 26, 535000, tzinfo=UTC)


@pytest.fixture(autouse=True)
def seed_hashes_checked() -> Iterator[None]:
    with override_settings(PASSWORD_HASHERS=WITH_SEED_HASHES):
        yield


def bcryptjs_hash(password: str) -> str:
    """A hash as the original registry's bcryptjs made them: ``$2a$``, cost 8."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(8, prefix=b"2a")).decode()


@dataclass
class SeedTenant:
    """One tenant database of the original registry and its uploads folder, documents shaped as its schemas
    shaped them (ObjectIds, dates, embedded versions with a random file key each)."""

    root: Path
    collections: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def uploads(self) -> Path:
        path = self.root / "uploads"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def add(self, collection: str, document: dict[str, Any]) -> dict[str, Any]:
        self.collections.setdefault(collection, []).append({"__v": 0, **document})
        return document

    def user(self, username: str, role: str = "regular", *, plain: bool = False, **fields: Any) -> ObjectId:
        password = PASSWORDS.get(username, "some-secret-1")
        document = {
            "_id": ObjectId(),
            "username": username,
            "password": password if plain else bcryptjs_hash(password),
            "email": f"{username}@measurify.example",
            "role": role,
            "validityPasswordDays": 0,
            "createdPassword": CREATED,
            "timestamp": CREATED,
            "lastmod": CREATED,
            **fields,
        }
        return self.add("users", document)["_id"]

    def entry(self, collection: str, name: str, owner: ObjectId | None, usage: str = "default") -> None:
        self.add(collection, {"_id": name, "usage": usage, "owner": owner, "timestamp": CREATED})

    def item(self, collection: str, name: str, owner: ObjectId, **fields: Any) -> ObjectId:
        document = {
            "_id": ObjectId(),
            "name": name,
            "owner": owner,
            "users": [],
            "versions": [],
            "metadata": [],
            "visibility": "private",
            "tags": [],
            "timestamp": CREATED,
            **fields,
        }
        if collection != "datasets":
            document = {"status": "training", "datasets": [], **document}
        return self.add(collection, document)["_id"]

    def version(self, ordinal: str, original: str, content: bytes | None, **fields: Any) -> dict[str, Any]:
        """A version entry; its file goes into the uploads folder under a random key (None: the file is gone)."""
        key = secrets.token_hex(16)
        if content is not None:
            (self.uploads / key).write_bytes(content)
        size = len(content) if content is not None else 15664
        return {"ordinal": ordinal, "key": key, "original": original, "encoding": "7bit",
                "mimetype": "application/octet-stream", "size": size, "timestamp": CREATED, "description": "",
                **fields}  # fmt: skip

    def write(self, form: str = "bson") -> Path:
        """The dump as ``mongodump`` (``bson``) or ``mongoexport`` (``json-lines``, ``json-array``) writes it."""
        folder = self.root / f"dump-{form}" / "registry-measurify"  # mongodump writes dump/<database>/
        folder.mkdir(parents=True)
        for name, documents in self.collections.items():
            if form == "bson":
                (folder / f"{name}.bson").write_bytes(b"".join(bson.encode(document) for document in documents))
                (folder / f"{name}.metadata.json").write_text('{"indexes":[{"v":2,"key":{"_id":1},"name":"_id_"}]}')
            elif form == "json-lines":
                lines = (json_util.dumps(doc, json_options=json_util.RELAXED_JSON_OPTIONS) for doc in documents)
                (folder / f"{name}.json").write_text("\n".join(lines) + "\n")
            else:
                array = json_util.dumps(documents, json_options=json_util.CANONICAL_JSON_OPTIONS)
                (folder / f"{name}.json").write_text(array)
        return folder.parent


@dataclass
class Seeded:
    """The ids of the standard seed tenant's records, as its users know them."""

    tenant: SeedTenant
    ids: dict[str, ObjectId]


@pytest.fixture
def seed(tmp_path: Path) -> Seeded:
    """A tenant of the original registry: ada (admin), reggie (owns things), olive (things are shared with her),
    oscar (given nothing), and the traces of a deleted user, gone, who still owns an algorithm and is still
    named in a share list, as the original registry left them."""
    tenant = SeedTenant(tmp_path)
    ada = tenant.user("ada", role="admin")
    reggie = tenant.user("reggie")
    olive = tenant.user("olive")
    tenant.user("oscar")
    gone = ObjectId()
    tenant.entry("tags", "vision", ada)
    tenant.entry("tags", "nlp", reggie, usage="folk")
    tenant.entry("metadatas", "accuracy", ada)
    tenant.entry("metadatas", "framework", reggie, usage="folk")
    imagenet = tenant.item("datasets", "imagenet", ada, visibility="public",
                           versions=[tenant.version("1", "imagenet.zip", IMAGES)])  # fmt: skip
    faces = tenant.item("datasets", "faces", reggie, users=[olive])
    resnet = tenant.item(
        "models", "resnet", reggie, status="production", users=[olive, gone], datasets=[imagenet, faces],
        tags=["vision", "cnn"],
        metadata=[{"name": "accuracy", "value": "0.93"}, {"name": "framework", "value": "onnx"}],
        versions=[tenant.version("1", "resnet.onnx", RESNET), tenant.version("v2.0.0", "resnet.onnx", RESNET_V2),
                  tenant.version("3", "resnet.onnx", None)],
    )  # fmt: skip
    twin = tenant.item("models", "resnet", reggie, status="deploy", colour="blue",
                       timestamp=datetime(2024, 1, 1, tzinfo=UTC))  # fmt: skip
    kmeans = tenant.item("algorithms", "kmeans", gone, visibility="public")
    tenant.add("passwordresets", {"_id": ObjectId(), "user": str(reggie), "status": "valid", "created": CREATED})
    ids = {"ada": ada, "reggie": reggie, "olive": olive, "gone": gone, "imagenet": imagenet, "faces": faces,
           "resnet": resnet, "twin": twin, "kmeans": kmeans}  # fmt: skip
    return Seeded(tenant, ids)


def import_seed(dump: Path, uploads: Path | None, *options: str) -> list[str]:
    out = io.StringIO()
    arguments = ["--dump", str(dump), *options]
    if uploads is not None:
        arguments += ["--uploads", str(uploads)]
    call_command("import_seed", TENANT, *arguments, stdout=out)
    return out.getvalue().splitlines()


def imported(seed: Seeded, form: str = "bson") -> list[str]:
    return import_seed(seed.tenant.write(form), seed.tenant.uploads)


def sign_in(username: str, password: str | None = None) -> APIClient:
    body = {"tenant": TENANT, "username": username, "password": password or PASSWORDS[username]}
    response = APIClient().post("/v1/login", body, format="json")
    assert response.status_code == 200, response.content
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=response.json()["token"])
    return client


def stored_password(username: str) -> str:
    with tenancy.using_tenant(Tenant.objects.get(pk=TENANT)):
        return User.objects.get(username=username).password


def lines_about(report: list[str], *words: str) -> list[str]:
    return [line for line in report if all(word in line for word in words)]


# ------------------------------------------------------------------ passwords


def test_users_sign_in_with_the_passwords_they_had(seed):
    imported(seed)
    assert stored_password("reggie").startswith("bcrypt$$2a$08$")  # the seed's hash, as it was

    for username in ("ada", "reggie", "olive", "oscar"):
        sign_in(username)


def test_a_login_replaces_the_seed_hash_with_the_registrys_hasher(seed):
    imported(seed)

    with override_settings(PASSWORD_HASHERS=project_settings.PASSWORD_HASHERS):  # production's: Argon2 first
        sign_in("reggie")
        sign_in("reggie")  # and the new hash works

    stored = stored_password("reggie")
    assert stored.startswith("argon2$")
    assert "$2a$" not in stored
    assert stored_password("olive").startswith("bcrypt$")  # who has not signed in keeps the old hash


def test_a_wrong_password_still_fails_against_a_seed_hash(seed):
    imported(seed)

    response = APIClient().post(
        "/v1/login", {"tenant": TENANT, "username": "reggie", "password": "not-his-password"}, format="json"
    )
    assert response.status_code == 401
    assert stored_password("reggie").startswith("bcrypt$")


def test_a_long_password_counts_its_first_72_bytes_as_bcryptjs_did(tmp_path):
    tenant = SeedTenant(tmp_path)
    long_password = "x" * 72 + "-ignored-by-bcryptjs"
    tenant.user("ada", role="admin", password=bcryptjs_hash("x" * 72))
    import_seed(tenant.write(), None)

    sign_in("ada", long_password)


def test_plain_text_passwords_are_hashed_on_import(tmp_path):
    tenant = SeedTenant(tmp_path)  # a tenant created with passwordhash false
    tenant.user("ada", role="admin", plain=True)
    tenant.user("reggie", plain=True)

    report = import_seed(tenant.write(), None)

    assert len(lines_about(report, "plain text", "hashed on import")) == 2
    stored = stored_password("reggie")
    assert stored.startswith("md5$")  # the tests' first hasher; Argon2 in production
    assert PASSWORDS["reggie"] not in stored
    sign_in("reggie")


SET_IN_2017 = datetime.fromtimestamp(1_500_000_000, tz=UTC)  # the original's own login test used this date


def test_a_password_the_original_would_call_expired_is_expired_here_too(tmp_path):
    tenant = SeedTenant(tmp_path)
    tenant.user("ada", role="admin")
    tenant.user("reggie", validityPasswordDays=1, createdPassword=SET_IN_2017)

    import_seed(tenant.write(), None)

    body = {"tenant": TENANT, "username": "reggie", "password": PASSWORDS["reggie"]}
    response = APIClient().post("/v1/login", body, format="json")
    assert response.status_code == 401
    assert "Password validity expired, please reset password" in response.json()["details"]


def test_a_password_that_never_expires_keeps_its_age_when_a_login_rehashes_it(tmp_path):
    tenant = SeedTenant(tmp_path)
    tenant.user("ada", role="admin")
    tenant.user("olive", validityPasswordDays=0, createdPassword=SET_IN_2017)

    import_seed(tenant.write(), None)
    sign_in("olive")  # re-hashes the bcrypt hash: the same password, no younger

    with tenancy.using_tenant(Tenant.objects.get(pk=TENANT)):
        olive = User.objects.get(username="olive")
    assert (olive.password_created, olive.validity_password_days) == (SET_IN_2017, 0)
    assert olive.password.startswith("md5$")


# ------------------------------------------------------------------ items, as their users see them


def test_models_keep_their_ids_and_everything_their_users_knew(seed):
    imported(seed)
    ids = seed.ids

    response = sign_in("reggie").get(f"/v1/models/{ids['resnet']}")

    assert response.status_code == 200, response.content
    model = response.json()
    assert model["_id"] == str(ids["resnet"])
    assert (model["name"], model["owner"], model["status"], model["visibility"]) == (
        "resnet", "reggie", "production", "private"
    )  # fmt: skip
    assert model["users"] == ["olive"]
    assert model["datasets"] == [str(ids["imagenet"]), str(ids["faces"])]
    assert model["tags"] == ["cnn", "vision"]
    assert model["metadata"] == [{"name": "accuracy", "value": "0.93"}, {"name": "framework", "value": "onnx"}]
    assert model["timestamp"] == "2023-03-14T15:09:26.535000Z"
    assert model["lastmod"] == model["timestamp"]


def test_private_items_are_read_by_their_owner_shared_users_and_admins_only(seed):
    imported(seed)
    url = f"/v1/models/{seed.ids['resnet']}"

    assert sign_in("olive").get(url).status_code == 200
    assert sign_in("ada").get(url).status_code == 200
    assert sign_in("oscar").get(url).status_code == 404
    assert sign_in("oscar").get(f"/v1/datasets/{seed.ids['imagenet']}").status_code == 200  # public


def test_other_tenants_see_nothing_of_the_imported_one(seed, other_tenant):
    imported(seed)

    assert other_tenant.get(f"/v1/datasets/{seed.ids['imagenet']}").status_code == 404


def test_downloads_give_the_original_bytes_by_ordinal_and_by_custom_ordinal(seed):
    imported(seed)
    reggie = sign_in("reggie")
    url = f"/v1/models/{seed.ids['resnet']}/versions"

    first = reggie.get(f"{url}/1")
    custom = reggie.get(f"{url}/v2.0.0")

    assert first.status_code == 200, first.content
    assert body_of(first) == RESNET
    assert first["ETag"] == f'"{hashlib.sha256(RESNET).hexdigest()}"'
    assert body_of(custom) == RESNET_V2
    versions = reggie.get(url).json()
    assert [(v["ordinal"], v["label"], v["original"]) for v in versions] == [
        (1, None, "resnet.onnx"),
        (4, "v2.0.0", "resnet-4.onnx"),  # a custom ordinal comes after every number; names are unique per item
    ]
    assert sign_in("oscar").get(f"{url}/1").status_code == 404


def test_a_new_upload_never_takes_the_number_of_a_version_left_out(seed):
    imported(seed)
    reggie = sign_in("reggie")

    response = reggie.post(
        f"/v1/models/{seed.ids['resnet']}/versions",
        data=b"retrained",
        content_type="application/octet-stream",
        HTTP_CONTENT_DISPOSITION='attachment; filename="resnet-retrained.onnx"',
    )

    assert response.status_code == 201, response.content
    assert response.json()["ordinal"] == 5  # 3 was the missing file's, 4 the custom ordinal's


def test_files_are_stored_once_by_their_sha256_on_disk_and_on_s3(seed, storage_backend):
    imported(seed)

    expected = sorted(f"{TENANT}/{hashlib.sha256(content).hexdigest()}" for content in (RESNET, RESNET_V2, IMAGES))
    assert stored_keys(TENANT) == expected
    assert body_of(sign_in("reggie").get(f"/v1/models/{seed.ids['resnet']}/versions/v2.0.0")) == RESNET_V2


def test_the_vocabulary_keeps_default_and_folk_and_who_introduced_each(seed):
    imported(seed)

    tags = {tag["_id"]: (tag["usage"], tag["owner"]) for tag in sign_in("ada").get("/v1/tags").json()["docs"]}
    names = sign_in("ada").get("/v1/metadata").json()["docs"]

    assert tags == {"vision": ("default", "ada"), "nlp": ("folk", "reggie"), "cnn": ("folk", "reggie")}
    assert {(entry["_id"], entry["usage"]) for entry in names} == {("accuracy", "default"), ("framework", "folk")}


def test_users_keep_their_ids_roles_and_emails(seed):
    imported(seed)

    users = {user["username"]: user for user in sign_in("ada").get("/v1/users").json()["docs"]}

    assert users["reggie"]["_id"] == str(seed.ids["reggie"])
    assert users["ada"]["role"] == "admin"
    assert users["olive"]["email"] == "olive@measurify.example"


# ------------------------------------------------------------------ what the registry refuses, line by line


def test_a_share_with_a_deleted_user_is_left_out_and_reported(seed):
    report = imported(seed)

    assert lines_about(report, "models", str(seed.ids["resnet"]), f"shared with {seed.ids['gone']}", "left out")


def test_an_item_of_a_deleted_user_goes_to_the_oldest_admin(seed):
    report = imported(seed)

    algorithm = sign_in("oscar").get(f"/v1/algorithms/{seed.ids['kmeans']}").json()
    assert algorithm["owner"] == "ada"
    assert lines_about(report, "algorithms", str(seed.ids["kmeans"]), "oldest admin")


def test_a_duplicate_name_is_renamed_and_reported(seed):
    report = imported(seed)

    twin = sign_in("reggie").get(f"/v1/models/{seed.ids['twin']}").json()
    assert twin["name"] == "resnet (2)"
    assert twin["status"] == "deploy"
    assert lines_about(report, str(seed.ids["twin"]), "'resnet (2)'")


def test_a_version_whose_file_is_missing_is_left_out_and_reported(seed):
    report = imported(seed)

    assert lines_about(report, str(seed.ids["resnet"]), "version '3'", "missing from the uploads folder", "left out")
    assert sign_in("reggie").get(f"/v1/models/{seed.ids['resnet']}/versions/3").status_code == 404


def test_unknown_fields_are_ignored_with_a_line(seed):
    report = imported(seed)

    assert lines_about(report, str(seed.ids["twin"]), "field 'colour'", "ignored")


def test_collections_that_are_not_imported_say_why(seed):
    report = imported(seed)

    assert lines_about(report, "passwordresets", "not imported")


def test_a_version_key_with_a_path_is_never_followed(tmp_path):
    tenant = SeedTenant(tmp_path)
    ada = tenant.user("ada", role="admin")
    (tmp_path / "variables.env").write_text("JWT_SECRET=secret")
    sneaky = tenant.version("1", "secrets.txt", None, key="../variables.env")
    model = tenant.item("models", "sneaky", ada, versions=[sneaky])

    report = import_seed(tenant.write(), tenant.uploads)

    assert lines_about(report, str(model), "'../variables.env'", "not a file name of the uploads folder")
    assert stored_keys(TENANT) == []


def test_ordinals_the_registry_cannot_keep_are_reported(tmp_path):
    tenant = SeedTenant(tmp_path)
    ada = tenant.user("ada", role="admin")
    versions = [tenant.version("1", "a.bin", b"a"), tenant.version("01", "b.bin", b"b"),
                tenant.version("production", "c.bin", b"c"), tenant.version("70", "d.bin", b"d")]  # fmt: skip
    model = tenant.item("models", "m", ada, versions=versions)

    report = import_seed(tenant.write(), tenant.uploads)

    numbers = [(v["ordinal"], v["label"]) for v in sign_in("ada").get(f"/v1/models/{model}/versions").json()]
    assert numbers == [(1, None), (70, None), (71, None), (72, None)]
    assert lines_about(report, "version '01'", "another version's number", "number 71")
    assert lines_about(report, "version 'production'", "reads as an alias", "number 72")


def test_the_report_of_a_dry_run_is_the_report_of_the_import(seed):
    dump = seed.tenant.write()

    dry = import_seed(dump, seed.tenant.uploads, "--dry-run")

    assert not Tenant.objects.filter(pk=TENANT).exists()
    assert every_stored_name() == []
    assert dry[-1] == f"dry run: tenant {TENANT!r} was not created, nothing was written"
    real = import_seed(dump, seed.tenant.uploads)
    assert real[:-1] == dry[:-1]
    assert real[-1] == f"imported tenant {TENANT!r}"


# ------------------------------------------------------------------ the two dump forms, and bad input


@pytest.mark.parametrize("form", ["json-lines", "json-array"])
def test_mongoexport_json_imports_as_mongodump_bson_does(seed, form):
    report = imported(seed, form)

    assert lines_about(report, "totals:", "4 users", "2 datasets", "2 models", "1 algorithms", "3 versions")
    assert body_of(sign_in("reggie").get(f"/v1/models/{seed.ids['resnet']}/versions/1")) == RESNET


def test_a_document_it_does_not_understand_names_the_file_and_the_field(seed):
    seed.tenant.add("models", {"_id": ObjectId(), "name": 42, "owner": seed.ids["reggie"]})

    with pytest.raises(CommandError, match=r"models\.bson: document 3 \(_id \w{24}\): name: expected a string"):
        imported(seed)

    assert not Tenant.objects.filter(pk=TENANT).exists()
    assert every_stored_name() == []


def test_unreadable_extended_json_names_the_file_and_the_line(seed):
    dump = seed.tenant.write("json-lines")
    users = next(dump.rglob("users.json"))
    users.write_text(users.read_text() + '{"_id": {"$oid": "nope"}\n')

    with pytest.raises(CommandError, match=r"users\.json: line 5 is not extended JSON"):
        import_seed(dump, seed.tenant.uploads)

    assert not Tenant.objects.filter(pk=TENANT).exists()


def test_a_folder_without_users_is_not_a_seed_dump(tmp_path):
    with pytest.raises(CommandError, match=r"no users\.bson or users\.json"):
        import_seed(tmp_path, None)


def test_a_tenant_id_in_use_is_refused_before_anything_is_read(seed, make_tenant):
    make_tenant(TENANT)

    with pytest.raises(CommandError, match="exists already"):
        imported(seed)


def test_a_failure_while_writing_leaves_no_half_tenant_and_no_files(seed, storage_backend):
    plan = plan_import(read_dump(seed.tenant.write()), seed.tenant.uploads)
    last = plan.sources()[-1]
    last.unlink()  # gone after the plan was made: the other files are copied before this one fails

    with pytest.raises(FileNotFoundError):
        import_plan(plan, new_tenant(TENANT, {}))

    assert not Tenant.objects.filter(pk=TENANT).exists()
    assert every_stored_name() == []
    assert storage.keys(TENANT) == []


def test_mongodump_gzip_files_are_read_and_strays_are_named(seed):
    dump = seed.tenant.write()
    for path in dump.rglob("*.bson"):
        path.with_name(f"{path.name}.gz").write_bytes(gzip.compress(path.read_bytes()))
        path.unlink()
    (next(dump.rglob("users.bson.gz")).parent / "oplog.bson").write_bytes(b"")

    report = import_seed(dump, seed.tenant.uploads)

    assert lines_about(report, "dump oplog.bson", "not a collection of the original registry: ignored")
    assert body_of(sign_in("reggie").get(f"/v1/models/{seed.ids['resnet']}/versions/1")) == RESNET


def test_a_collection_given_twice_is_refused(seed):
    dump = seed.tenant.write()
    folder = next(dump.rglob("users.bson")).parent
    (folder / "users.json").write_text("")

    with pytest.raises(CommandError, match=r"users\.json: users\.bson holds the collection 'users' already"):
        import_seed(dump, seed.tenant.uploads)


def test_users_the_registry_would_refuse_come_over_changed_and_reported(tmp_path):
    tenant = SeedTenant(tmp_path)
    admin = tenant.user("admin", role="admin", email="@")  # the original default tenant's bootstrap admin
    tenant.user("grace hopper", email="Grace@Example.org", role="provider")
    tenant.user("grace_hopper", email="grace@example.org", timestamp=datetime(2024, 1, 1, tzinfo=UTC))

    report = import_seed(tenant.write(), None)

    users = {user["username"]: user for user in sign_in("admin", "some-secret-1").get("/v1/users").json()["docs"]}
    assert users["admin"]["_id"] == str(admin)
    assert users["admin"]["email"] is None
    assert (users["grace_hopper"]["email"], users["grace_hopper"]["role"]) == ("grace@example.org", "regular")
    assert users["grace_hopper-2"]["email"] is None
    assert lines_about(report, "(admin)", "email '@' is not an e-mail address")
    assert lines_about(report, "(grace hopper)", "username 'grace hopper' is 'grace_hopper'")
    assert lines_about(report, "(grace hopper)", "role 'provider'", "regular")
    assert lines_about(report, "(grace_hopper)", "'grace_hopper-2'")
    assert lines_about(report, "(grace_hopper)", "an older user's too")
    sign_in("grace_hopper", "some-secret-1")


def test_vocabulary_names_the_registry_refuses_are_left_out(tmp_path):
    tenant = SeedTenant(tmp_path)
    ada = tenant.user("ada", role="admin")
    tenant.entry("tags", "x" * 65, ada)
    tenant.entry("tags", " vision", ada)
    tenant.entry("tags", "vision", ada, usage="sometimes")
    twice = [{"name": "accuracy", "value": "0.9"}, {"name": "accuracy", "value": "0.8"}]
    model = tenant.item("models", "m", ada, tags=["x" * 65, " vision", 7], metadata=twice)

    report = import_seed(tenant.write(), None)

    document = sign_in("ada").get(f"/v1/models/{model}").json()
    assert document["tags"] == ["vision"]
    assert document["metadata"] == [{"name": "accuracy", "value": "0.9"}]
    assert lines_about(report, "tags", "not a tag the registry takes", "left out")
    assert lines_about(report, "tags 'vision'", "merged")
    assert lines_about(report, str(model), "tag 7 is not a string")
    assert lines_about(report, str(model), "metadata 'accuracy' appears twice")
