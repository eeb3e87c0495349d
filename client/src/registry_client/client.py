"""``Registry``: the library's one object. Register from a training script, pull from a deployment.

from registry_client import Registry

reg = Registry()  # REGISTRY_URL and REGISTRY_KEY, or the profile `mreg login` wrote
reg.push("resnet50", "model.onnx", metadata={"accuracy": 0.93}, tags=["vision"], alias="staging")
reg.pull("grace/resnet50@production", "models/")
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Union
from urllib.parse import quote

from registry_client import config, errors, transfers
from registry_client.transport import Transport
from registry_client.types import Item, MetadataValue, Ref, Version, metadata_list

PathLike = Union[str, Path]
PAGE_SIZE = 100  # the API's largest page


class Registry:
    """A connection to one registry, as one user of one tenant (or as the API_TOKEN holder)."""

    def __init__(
        self,
        url: str | None = None,
        *,
        key: str | None = None,
        tenant: str | None = None,
        username: str | None = None,
        password: str | None = None,
        new_password: str | None = None,
        api_token: str | None = None,
        profile: str | None = None,
        timeout: float = 60.0,
        retries: int = 5,
        progress: bool | None = None,
        resumable_threshold: int = transfers.RESUMABLE_THRESHOLD,
        resumable_chunk: int = transfers.RESUMABLE_CHUNK,
    ) -> None:
        """Arguments win over ``REGISTRY_*`` environment variables, which win over the profile file
        (``registry_client.config``). Authenticate with an API key, or with a username and password (the
        client logs in and renews its token as it nears expiry, without the caller noticing).
        ``new_password`` replaces the password at that login: what a temporary password (a fresh
        installation's first admin) or an expired one needs before the registry lets the user in.

        Files of ``resumable_threshold`` bytes or more go up in ``resumable_chunk`` pieces through the
        registry's resumable uploads (tus 1.0) when it offers them: a broken connection costs at most the
        chunk in flight, and a push run again after a failure continues where the last one stopped."""
        self.settings = config.resolve(profile, url=url, key=key, tenant=tenant, api_token=api_token)
        if not self.settings.url:
            raise errors.ConfigurationError("no registry URL: pass url=, set REGISTRY_URL, or run `mreg login`")
        self.transport = Transport(self.settings.url, timeout=timeout, retries=retries)
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.resumable_threshold = resumable_threshold
        self.resumable_chunk = resumable_chunk
        self._token = ""
        self._username = username
        self._password = password
        self._new_password = new_password
        self._me: str | None = None
        if self.settings.key:
            self.transport.auth = lambda: f"Bearer {self.settings.key}"
        elif username and password:
            self.transport.auth = lambda: self._token
            self.transport.on_unauthorized = self._renew_token
            self._log_in()

    # ------------------------------------------------------------ connection

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _log_in(self) -> None:
        answer = self._json("POST", "/v1/login", json=self._credentials(), auth=lambda: "")
        self._token = answer["token"]
        self._me = answer["user"]["username"]
        if self._new_password:  # changed: a later login (after the token's renew window) uses the new one
            self._password, self._new_password = self._new_password, None

    def _credentials(self) -> dict[str, str]:
        body = {"username": self._username or "", "password": self._password or ""}
        if self.settings.tenant:
            body["tenant"] = self.settings.tenant
        if self._new_password:
            body["new_password"] = self._new_password
        return body

    def _renew_token(self) -> bool:
        """After a 401: renew the token within its renew window, else log in again. True when it worked."""
        try:
            self._token = self._json("PUT", "/v1/login", auth=lambda: self._token)["token"]
        except errors.RegistryError:
            try:
                self._log_in()
            except errors.RegistryError:
                return False
        return True

    def _json(self, method: str, path: str, **arguments: Any) -> Any:
        return self.transport.request(method, path, **arguments).json()

    # ------------------------------------------------------------ who and where

    def whoami(self) -> dict[str, Any]:
        """``GET /v1/info``: the registry's version, the tenant, and the user (and key) this client acts as."""
        info: dict[str, Any] = self._json("GET", "/v1/info")
        user = info.get("user") or {}
        self._me = user.get("username") or self._me
        return info

    def username(self) -> str:
        if self._me is None:
            self.whoami()
        if not self._me:
            raise errors.ConfigurationError("the registry did not say which user this client is")
        return self._me

    def tenants(self) -> Iterator[dict[str, Any]]:
        """Every tenant (the API_TOKEN holder only: pass ``api_token=`` or set REGISTRY_API_TOKEN)."""
        if not self.settings.api_token:
            raise errors.ConfigurationError("listing tenants needs the API_TOKEN (REGISTRY_API_TOKEN)")
        token = self.settings.api_token
        return self._pages("/v1/tenants", {}, auth=lambda: token)

    # ------------------------------------------------------------ reading

    def ref(self, text: str | Ref) -> Ref:
        """A reference with its owner filled in (``resnet50`` is the caller's own ``resnet50``)."""
        ref = text if isinstance(text, Ref) else Ref.parse(text)
        return ref if ref.owner or ref.id else ref.with_owner(self.username())

    def get(self, ref: str | Ref, *, kind: str = "models") -> Item:
        return Item.of(kind, self._json("GET", self.ref(ref).item_path(kind)))

    def version(self, ref: str | Ref, *, kind: str = "models") -> Version:
        """The version a reference names (``@latest`` when it names none), without downloading it. ``…@v2``
        names the alias ``v2`` or, when the item has no such alias, the version labelled ``v2``."""
        parsed = self.ref(ref)
        try:
            return Version.of(self._json("GET", parsed.version_path(kind) + "/info"))
        except errors.NotFound:
            label = parsed.version[1:]
            if not parsed.version.startswith("@") or not any(character.isdigit() for character in label):
                raise  # labels have a digit: a word alone is only ever an alias (or latest)
            as_label = Ref(id=parsed.id, name=parsed.name, owner=parsed.owner, version=label)
            return Version.of(self._json("GET", as_label.version_path(kind) + "/info"))

    def search(
        self,
        filter: dict[str, Any] | list[Any] | None = None,
        *,
        kind: str = "models",
        sort: dict[str, Any] | None = None,
        limit: int | None = None,
    ) -> Iterator[Item]:
        """Every item matching ``filter`` (the registry's filter language, as a dict), page after page as the
        iteration goes; stops after ``limit`` items when given."""
        params = {"filter": json.dumps(filter or {})}
        if sort:
            params["sort"] = json.dumps(sort)
        for count, document in enumerate(self._pages(f"/v1/{kind}", params), start=1):
            yield Item.of(kind, document)
            if limit is not None and count >= limit:
                return

    def _pages(self, path: str, params: dict[str, str], **arguments: Any) -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            envelope = self._json("GET", path, params={**params, "page": page, "limit": PAGE_SIZE}, **arguments)
            yield from envelope["docs"]
            if not envelope.get("hasNextPage"):
                return
            page = envelope["nextPage"]

    # ------------------------------------------------------------ writing

    def push(
        self,
        name: str,
        path: PathLike,
        *,
        kind: str = "models",
        metadata: dict[str, MetadataValue] | None = None,
        description: str = "",
        tags: list[str] | None = None,
        alias: str | None = None,
        visibility: str | None = None,
        item_metadata: dict[str, MetadataValue] | None = None,
        direct: bool = False,
        label: str | None = None,
    ) -> Version:
        """Create the item ``name`` (yours) unless it exists, upload ``path`` as its next version with its
        ``metadata`` (the version's metrics) and ``description``, and point ``alias`` at it.

        ``label`` names the version besides its number (``v2.0.0``: at least one digit, unique per item, any
        case; ``…@v2.0.0`` then finds it); the registry refuses a taken label (``Conflict``) before any byte
        is sent.

        ``tags``, ``visibility`` and ``item_metadata`` set the item's own fields. When the item already has
        a version with the same bytes, nothing is uploaded: that version is returned (and the alias moved).
        A file name the item already uses for other bytes gets the digest's first 8 digits
        (``model.onnx`` → ``model-3f2a9c1b.onnx``): file names address versions, so they are unique per item.

        ``direct=True`` sends the file's parts straight to the registry's S3 bucket (presigned URLs; the
        registry must run with ``S3_DIRECT_UPLOADS`` and its bucket be reachable from here); the registry
        then checks the whole file's SHA-256 before the version exists.
        """
        file = Path(path)
        if not file.is_file():
            raise errors.ConfigurationError(f"{file}: no such file")
        size = file.stat().st_size
        item = self._ensure_item(name, kind, tags=tags, visibility=visibility, metadata=item_metadata)
        uploads = f"/v1/{item.kind}/{item.id}/uploads"
        resumable = (
            not direct and size >= self.resumable_threshold and transfers.offers_resumable(self.transport, uploads)
        )
        sha256 = None
        if not resumable or _needs_digest_first(item, file.name, size):
            with transfers.progress_bar(size, f"hashing {file.name}", self.progress) as bar:
                sha256 = transfers.sha256_of(file, bar.update)
        version = item.version_with_sha256(sha256) if sha256 else None
        original = _free_name(file.name, sha256, {existing.original for existing in item.versions})
        if version is not None:
            if self.progress:
                print(f"{item.ref} already has these bytes as version {version.ordinal}: not uploaded", file=sys.stderr)
        elif resumable:
            fields = _version_fields(metadata or {}, description)
            if label:
                fields["label"] = label
            version = self._push_resumable(item, file, sha256, original, fields)
        else:
            assert sha256 is not None  # always hashed first for these
            version = self._upload(
                item, file, sha256, original, metadata or {}, description, direct=direct, label=label or ""
            )
        if alias:
            self.set_alias(Ref(id=item.id), alias, version.ordinal, kind=kind)
        return version

    def _ensure_item(
        self,
        name: str,
        kind: str,
        *,
        tags: list[str] | None,
        visibility: str | None,
        metadata: dict[str, MetadataValue] | None,
    ) -> Item:
        ref = self.ref(name)
        changes: dict[str, Any] = {}
        if tags:
            changes["tags"] = {"add": tags}
        if visibility:
            changes["visibility"] = visibility
        if metadata:
            changes["metadata"] = {"add": metadata_list(metadata)}
        try:
            item = self.get(ref, kind=kind)
        except errors.NotFound:
            body: dict[str, Any] = {"name": ref.name, "tags": tags or [], "metadata": metadata_list(metadata)}
            if visibility:
                body["visibility"] = visibility
            try:
                return Item.of(kind, self._json("POST", f"/v1/{kind}", json=body))
            except errors.Conflict:  # created meanwhile by a concurrent push of the same name
                item = self.get(ref, kind=kind)
        if changes:
            item = Item.of(kind, self._json("PUT", f"/v1/{kind}/{item.id}", json=changes))
        return item

    def _upload(
        self,
        item: Item,
        file: Path,
        sha256: str,
        original: str,
        metadata: dict[str, MetadataValue],
        description: str,
        *,
        direct: bool = False,
        label: str = "",
    ) -> Version:
        """One request (or, with ``direct``, presigned parts to S3), the digest announced before the bytes."""
        size = file.stat().st_size
        if direct:
            body: dict[str, Any] = {"filename": original, "size": size, "sha256": sha256}
            if description:
                body["description"] = description
            if label:
                body["label"] = label
            if metadata:
                body["metadata"] = metadata_list(metadata)
            uploads = f"/v1/{item.kind}/{item.id}/uploads"
            with transfers.progress_bar(size, f"uploading {original}", self.progress) as bar:
                return Version.of(transfers.direct_upload(self.transport, f"{uploads}/s3", file, body, bar))
        headers = {
            "Content-Type": "application/octet-stream",
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(original, safe='')}",
            "X-Checksum-Sha256": sha256,
            # a declared length: the body streams as it is read, not chunked (which the registry refuses)
            "Content-Length": str(size),
        }
        params = _version_fields(metadata, description)
        if label:
            params["ordinal"] = label  # the original registry's name for it
        with transfers.progress_bar(size, f"uploading {original}", self.progress) as bar:
            document = self._json(
                "POST",
                f"/v1/{item.kind}/{item.id}/versions",
                params=params,
                headers=headers,
                body=transfers.file_body(file, bar),
            )
        return Version.of(document)

    def _push_resumable(
        self, item: Item, file: Path, sha256: str | None, original: str, fields: dict[str, str]
    ) -> Version:
        """tus 1.0, the digest sent with the last PATCH (``sha256`` when known already, else hashed as the file
        goes); the version the registry recorded must have the digest this client read."""
        with transfers.progress_bar(file.stat().st_size, f"uploading {original}", self.progress) as bar:
            sent = transfers.resumable_upload(
                self.transport,
                f"/v1/{item.kind}/{item.id}/uploads",
                file,
                sha256=sha256,
                original=original,
                fields=fields,
                chunk_size=self.resumable_chunk,
                bar=bar,
                memory=transfers.UploadMemory(transfers.upload_state_path()),
            )
        if sent.location is not None:
            version = Version.of(self._json("GET", sent.location))
        else:  # the answer to the last chunk was lost: the version, if it exists, has these bytes
            found = self.get(Ref(id=item.id), kind=item.kind).version_with_sha256(sent.sha256)
            if found is None:
                raise errors.NetworkError(f"{file}: the upload broke off and the registry does not have it")
            version = found
        if version.sha256 != sent.sha256:
            raise errors.DigestMismatch(f"{file}: the registry recorded SHA-256 {version.sha256}, not {sent.sha256}")
        return version

    def set_alias(self, ref: str | Ref, alias: str, version: int | str, *, kind: str = "models") -> dict[str, Any]:
        """Point ``alias`` of the item at ``version`` (an ordinal or a file name); moves it if it exists."""
        path = f"{self.ref(ref).item_path(kind)}/aliases/{quote(alias, safe='')}"
        answer: dict[str, Any] = self._json("PUT", path, json={"version": version})
        return answer

    def aliases(self, ref: str | Ref, *, kind: str = "models") -> list[dict[str, Any]]:
        """The item's aliases: ``[{"alias", "version", "lastmod", "by"}]``, by name."""
        answer: list[dict[str, Any]] = self._json("GET", f"{self.ref(ref).item_path(kind)}/aliases")
        return answer

    def create_key(self, name: str, scopes: list[str]) -> str:
        """A new API key of this client's user (``POST /v1/keys``); the key text exists only in this answer."""
        return str(self._json("POST", "/v1/keys", json={"name": name, "scopes": scopes})["key"])

    def remove_alias(self, ref: str | Ref, alias: str, *, kind: str = "models") -> dict[str, Any]:
        answer: dict[str, Any] = self._json(
            "DELETE", f"{self.ref(ref).item_path(kind)}/aliases/{quote(alias, safe='')}"
        )
        return answer

    def delete(self, ref: str | Ref, *, kind: str = "models") -> dict[str, Any]:
        """Delete the item a reference names or, when it names a version (``…@3``), only that version."""
        parsed = self.ref(ref)
        path = parsed.version_path(kind) if parsed.version else parsed.item_path(kind)
        answer: dict[str, Any] = self._json("DELETE", path)
        return answer

    # ------------------------------------------------------------ downloading

    def pull(self, ref: str | Ref, destination: PathLike = ".", *, kind: str = "models") -> Path:
        """Download the version a reference names (``@latest`` when it names none) and verify its SHA-256.

        ``destination`` is a directory (the file keeps its name) or a file path. An interrupted download
        resumes where it stopped, now or on a later call; a file already there with the same bytes is kept.
        """
        parsed = self.ref(ref)
        version = self.version(parsed, kind=kind)
        target = Path(destination)
        if target.is_dir() or str(destination).endswith(("/", "\\")):
            target.mkdir(parents=True, exist_ok=True)
            target = target / Path(version.original).name
        if target.is_file() and target.stat().st_size == version.size and transfers.sha256_of(target) == version.sha256:
            return target
        # By ordinal, not by the reference: an alias moved meanwhile cannot mix two files in one download.
        path = Ref(id=parsed.id, name=parsed.name, owner=parsed.owner, version=str(version.ordinal)).version_path(kind)
        return transfers.download(
            self.transport, path, target, sha256=version.sha256, size=version.size, show_progress=self.progress
        )


def _needs_digest_first(item: Item, name: str, size: int) -> bool:
    """Whether a resumable push must hash before it sends, rather than while: to look for the same bytes,
    which only a version of this very size can hold, or to name the file when its name is taken."""
    return any(version.size == size or version.original == name for version in item.versions)


def _version_fields(metadata: dict[str, MetadataValue], description: str) -> dict[str, str]:
    """A version's description and metadata as a one-request upload's parameters and tus metadata take them."""
    fields: dict[str, str] = {}
    if description:
        fields["description"] = description
    if metadata:
        fields["metadata"] = json.dumps(metadata_list(metadata))
    return fields


def _free_name(name: str, sha256: str | None, taken: set[str]) -> str:
    if name not in taken:
        return name
    assert sha256 is not None  # a taken name is the reason to hash first
    stem, dot, suffix = name.partition(".")
    return f"{stem}-{sha256[:8]}{dot}{suffix}"
