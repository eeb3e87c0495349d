"""``mreg``: the registry from a shell. Human output by default, ``--json`` for scripts.

Exit codes: 0 done; 1 another error; 2 usage or configuration; 3 not found; 4 not authenticated;
5 forbidden; 6 conflict; 7 invalid request; 8 network, server busy or down; 9 digest mismatch;
10 a confirmation was declined.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import secrets
import socket
import sys
import time
from typing import Any, Callable

from registry_client import config, errors
from registry_client.client import Registry
from registry_client.types import Item, MetadataValue, Ref

DECLINED = 10


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    arguments = parser.parse_args(argv)
    if not getattr(arguments, "run", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        result = arguments.run(arguments)
    except errors.RegistryError as exc:
        print(f"mreg: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("mreg: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


class CommandLine(argparse.ArgumentParser):
    """The parser, remembering its commands in order (``reference`` prints each one's help)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.commands: list[tuple[str, argparse.ArgumentParser]] = []
        # The global options, accepted after the command as well (`mreg login --url …`); a value given
        # there wins, one not given leaves the global one (SUPPRESS: no default of their own).
        self.common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
        add_global_options(self.common)
        add_global_options(self, defaults=True)

    def subcommands(self, parent: argparse.ArgumentParser, title: str, metavar: str) -> Any:
        # plain parsers below this one: only the top parser owns the global options
        return parent.add_subparsers(title=title, metavar=metavar, parser_class=argparse.ArgumentParser)

    def command(
        self, group: Any, name: str, run: Callable[[argparse.Namespace], int] | None, help_text: str, under: str = ""
    ) -> argparse.ArgumentParser:
        command: argparse.ArgumentParser = group.add_parser(
            name, help=help_text, description=help_text, parents=[self.common]
        )
        command.set_defaults(run=run)
        self.commands.append((" ".join(filter(None, ("mreg", under, name))), command))
        return command


def add_global_options(parser: argparse.ArgumentParser, *, defaults: bool = False) -> None:
    parser.add_argument("--profile", help="profile of the config file (default: $REGISTRY_PROFILE or 'default')")
    parser.add_argument("--url", help="registry URL (default: $REGISTRY_URL or the profile's)")
    parser.add_argument("--tenant", help="tenant (default: $REGISTRY_TENANT or the profile's)")
    parser.add_argument("--json", action="store_true", help="print JSON documents (stable, for scripts)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or notes")
    parser.add_argument("--timeout", type=float, help="seconds to wait for the server (default 60)")
    parser.add_argument("--kind", help="models (default), datasets or algorithms")
    if defaults:
        parser.set_defaults(profile=None, url=None, tenant=None, json=False, quiet=False, timeout=60.0, kind="models")


def build_parser() -> CommandLine:
    parser = CommandLine(prog="mreg", description="Register, find and fetch models, datasets and algorithms.")
    commands = parser.subcommands(parser, "commands", "COMMAND")

    login = parser.command(commands, "login", run_login, "store a key (or create one with a password) in the profile")
    login.add_argument("--key", help="an API key (mrk_…); '-' reads it from stdin")
    login.add_argument("--username", help="log in with a password and create a key for this machine")
    login.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    login.add_argument(
        "--new-password",
        action="store_true",
        help="replace the password at this login (a temporary or expired one): asked for, or the next stdin line",
    )
    login.add_argument("--scopes", default="write", help="scopes of the key a password login creates (default write)")

    parser.command(commands, "whoami", run_whoami, "the user, tenant and key this profile acts as")

    listing = parser.command(commands, "ls", run_ls, "list items (newest first)")
    _list_options(listing)
    search = parser.command(commands, "search", run_search, "items whose name contains TEXT (any case)")
    search.add_argument("text")
    _list_options(search)

    show = parser.command(commands, "show", run_show, "an item, its versions and aliases")
    show.add_argument("ref", help="owner/name, name (yours) or id")

    push = parser.command(commands, "push", run_push, "upload a file as the next version (creating the item)")
    push.add_argument("name", help="the item's name (yours)")
    push.add_argument("path", help="the file")
    push.add_argument("-m", "--metadata", action="append", default=[], metavar="NAME=VALUE", help="version metadata")
    push.add_argument("-t", "--tag", action="append", default=[], help="a tag of the item (repeatable)")
    push.add_argument("-d", "--description", default="", help="the version's description")
    push.add_argument("--label", help="name the version besides its number (v2.0.0: with a digit, unique)")
    push.add_argument("--alias", help="point this alias at the new version")
    push.add_argument("--visibility", choices=["public", "private"], help="the item's visibility")
    push.add_argument(
        "--direct", action="store_true", help="send the file straight to the registry's S3 bucket (S3_DIRECT_UPLOADS)"
    )

    pull = parser.command(commands, "pull", run_pull, "download a version and verify its SHA-256")
    pull.add_argument("ref", help="owner/name[@alias|@N|@label] (latest version by default)")
    pull.add_argument("destination", nargs="?", default=".", help="a directory or a file path (default .)")

    alias = parser.command(commands, "alias", None, "list, set or remove aliases")
    alias_commands = parser.subcommands(alias, "alias commands", "ACTION")
    alias_set = parser.command(
        alias_commands, "set", run_alias_set, "point ALIAS at VERSION (ordinal or file name)", "alias"
    )
    alias_set.add_argument("ref")
    alias_set.add_argument("alias")
    alias_set.add_argument("version")
    alias_rm = parser.command(alias_commands, "rm", run_alias_rm, "remove ALIAS", "alias")
    alias_rm.add_argument("ref")
    alias_rm.add_argument("alias")
    alias_ls = parser.command(alias_commands, "ls", run_alias_ls, "the item's aliases", "alias")
    alias_ls.add_argument("ref")

    remove = parser.command(commands, "rm", run_rm, "delete an item, or one version (owner/name@N)")
    remove.add_argument("ref")
    remove.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")

    parser.command(commands, "tenants", run_tenants, "list tenants (needs $REGISTRY_API_TOKEN)")
    return parser


def reference() -> str:
    """The command line's help, every command, as Markdown (docs/client.md holds it; a test compares)."""
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"  # argparse wraps help to the terminal's width: make it one fixed width
    try:
        parser = build_parser()
        sections = [("mreg", parser), *parser.commands]
        return "\n".join(
            f"### `{title}`\n\n```text\n{command.format_help().rstrip()}\n```\n" for title, command in sections
        )
    finally:
        if previous is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = previous


def _list_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--filter", default="", help='a filter document, e.g. \'{"tags": "vision"}\'')
    command.add_argument("--sort", default="", help='e.g. \'{"metadata.accuracy": "desc"}\'')
    command.add_argument("--limit", type=int, default=50, help="at most this many items (default 50; 0: all)")


# ---------------------------------------------------------------- helpers


def registry(arguments: argparse.Namespace, **extra: Any) -> Registry:
    return Registry(
        arguments.url,
        tenant=arguments.tenant,
        profile=arguments.profile,
        timeout=arguments.timeout,
        progress=False if arguments.quiet or arguments.json else None,
        **extra,
    )


def emit(arguments: argparse.Namespace, document: Any, human: str) -> None:
    print(json.dumps(document, indent=2, sort_keys=True) if arguments.json else human)


def json_argument(text: str, what: str) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise errors.ConfigurationError(f"--{what}: not JSON ({exc})") from None


def metadata_argument(pairs: list[str]) -> dict[str, MetadataValue]:
    """``NAME=VALUE`` pairs; a value that reads as a JSON number or boolean is one, else it is text."""
    values: dict[str, MetadataValue] = {}
    for pair in pairs:
        name, equals, text = pair.partition("=")
        if not equals or not name:
            raise errors.ConfigurationError(f"--metadata {pair!r}: write NAME=VALUE")
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        values[name] = value if isinstance(value, (bool, int, float)) else text
    return values


def item_line(item: Item) -> str:
    aliases = " ".join(f"@{name}→{ordinal}" for name, ordinal in sorted(item.aliases.items()))
    latest = f"v{item.versions[-1].ordinal}" if item.versions else "-"
    return f"{item.ref:<40} {latest:>5}  {aliases or '-':<24} {','.join(item.tags) or '-'}"


# ---------------------------------------------------------------- commands


def run_login(arguments: argparse.Namespace) -> int:
    settings = config.resolve(arguments.profile, url=arguments.url, tenant=arguments.tenant)
    if not settings.url:
        raise errors.ConfigurationError("login needs --url (or REGISTRY_URL)")
    key = arguments.key
    if key == "-":
        key = sys.stdin.readline().strip()
    if not key and not arguments.username:
        raise errors.ConfigurationError("login needs --key KEY or --username NAME")
    if not key:
        password = sys.stdin.readline().rstrip("\n") if arguments.password_stdin else getpass.getpass()
        new_password = _new_password(arguments) if arguments.new_password else None
        key = _create_key(arguments, settings, password, new_password)
    with Registry(settings.url, key=key, timeout=arguments.timeout, profile=arguments.profile) as reg:
        info = reg.whoami()  # the key works before it is written down
    tenant = str(info.get("tenant") or settings.tenant)
    path = config.save_profile(config.Settings(url=settings.url, tenant=tenant, key=key), arguments.profile)
    user = (info.get("user") or {}).get("username", "?")
    emit(arguments, {"user": user, "tenant": tenant, "profile": str(path)}, f"{user} on {tenant}: key saved in {path}")
    return 0


def _new_password(arguments: argparse.Namespace) -> str:
    if arguments.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    chosen = getpass.getpass("New password: ")
    if getpass.getpass("New password, again: ") != chosen:
        raise errors.ConfigurationError("the two new passwords differ")
    return chosen


def _create_key(
    arguments: argparse.Namespace, settings: config.Settings, password: str, new_password: str | None = None
) -> str:
    with Registry(
        settings.url,
        tenant=settings.tenant,
        username=arguments.username,
        password=password,
        new_password=new_password,
        profile=arguments.profile,
    ) as reg:
        # a key's name is unique per user: two logins in one second must not collide
        name = f"mreg on {socket.gethostname()} {time.strftime('%Y-%m-%d %H:%M:%S')} {secrets.token_hex(2)}"
        scopes = [scope.strip() for scope in arguments.scopes.split(",") if scope.strip()]
        return reg.create_key(name[:100], scopes)


def run_whoami(arguments: argparse.Namespace) -> int:
    with registry(arguments) as reg:
        info = reg.whoami()
    user = info.get("user") or {}
    key = info.get("key") or {}
    through = f", key {key.get('name')!r} ({','.join(key.get('scopes', []))})" if key else ""
    emit(arguments, info, f"{user.get('username')} ({user.get('role')}) on {info.get('tenant')}{through}")
    return 0


def _list(arguments: argparse.Namespace, filter_document: Any) -> int:
    sort = json_argument(arguments.sort, "sort")
    with registry(arguments) as reg:
        items = list(reg.search(filter_document, kind=arguments.kind, sort=sort, limit=arguments.limit or None))
    if arguments.json:
        print(json.dumps([item.document for item in items], indent=2, sort_keys=True))
    else:
        for item in items:
            print(item_line(item))
    return 0


def run_ls(arguments: argparse.Namespace) -> int:
    return _list(arguments, json_argument(arguments.filter, "filter"))


def run_search(arguments: argparse.Namespace) -> int:
    import re

    condition = {"name": {"$regex": re.escape(arguments.text), "$options": "i"}}
    extra = json_argument(arguments.filter, "filter")
    return _list(arguments, {"$and": [condition, extra]} if extra else condition)


def run_show(arguments: argparse.Namespace) -> int:
    with registry(arguments) as reg:
        item = reg.get(arguments.ref, kind=arguments.kind)
    lines = [f"{item.ref}  ({item.id}, {item.visibility})"]
    if item.tags:
        lines.append(f"tags: {', '.join(item.tags)}")
    lines.extend(f"{name}: {value}" for name, value in item.metadata.items())
    by_ordinal: dict[int, list[str]] = {}
    for name, ordinal in item.aliases.items():
        by_ordinal.setdefault(ordinal, []).append(f"@{name}")
    for version in item.versions:
        metrics = " ".join(f"{name}={value}" for name, value in version.metadata.items())
        marks = " ".join(sorted(by_ordinal.get(version.ordinal, [])))
        number = f"v{version.ordinal}" + (f" ({version.label})" if version.label else "")
        lines.append(f"  {number:<5} {version.original:<32} {version.size:>12}  {marks} {metrics}".rstrip())
    emit(arguments, item.document, "\n".join(lines))
    return 0


def run_push(arguments: argparse.Namespace) -> int:
    with registry(arguments) as reg:
        version = reg.push(
            arguments.name,
            arguments.path,
            kind=arguments.kind,
            metadata=metadata_argument(arguments.metadata),
            description=arguments.description,
            tags=arguments.tag,
            alias=arguments.alias,
            visibility=arguments.visibility,
            direct=arguments.direct,
            label=arguments.label,
        )
        ref = f"{reg.username()}/{arguments.name}"
    emit(arguments, version.document, f"{ref}@{version.ordinal}: {version.original} sha256:{version.sha256}")
    return 0


def run_pull(arguments: argparse.Namespace) -> int:
    with registry(arguments) as reg:
        path = reg.pull(arguments.ref, arguments.destination, kind=arguments.kind)
    emit(arguments, {"path": str(path)}, str(path))
    return 0


def run_alias_set(arguments: argparse.Namespace) -> int:
    version: Any = int(arguments.version) if arguments.version.isdigit() else arguments.version
    with registry(arguments) as reg:
        answer = reg.set_alias(arguments.ref, arguments.alias, version, kind=arguments.kind)
    emit(arguments, answer, f"@{answer.get('alias')} → v{answer.get('version')}")
    return 0


def run_alias_rm(arguments: argparse.Namespace) -> int:
    with registry(arguments) as reg:
        answer = reg.remove_alias(arguments.ref, arguments.alias, kind=arguments.kind)
    emit(arguments, answer, f"@{answer.get('alias')} removed")
    return 0


def run_alias_ls(arguments: argparse.Namespace) -> int:
    with registry(arguments) as reg:
        aliases = reg.aliases(arguments.ref, kind=arguments.kind)
    lines = [f"@{entry['alias']:<20} v{entry['version']:<5} {entry.get('by') or ''}" for entry in aliases]
    emit(arguments, aliases, "\n".join(lines) or "(no aliases)")
    return 0


def run_rm(arguments: argparse.Namespace) -> int:
    ref = Ref.parse(arguments.ref)
    what = f"version {ref.version} of {arguments.ref.partition('@')[0]}" if ref.version else arguments.ref
    if not arguments.yes:
        if not sys.stdin.isatty():
            print("mreg: refusing to delete without --yes (stdin is not a terminal)", file=sys.stderr)
            return DECLINED
        if input(f"Delete {what}? Type 'yes': ").strip().lower() != "yes":
            print("mreg: not deleted", file=sys.stderr)
            return DECLINED
    with registry(arguments) as reg:
        answer = reg.delete(ref, kind=arguments.kind)
    emit(arguments, answer, f"deleted {what}")
    return 0


def run_tenants(arguments: argparse.Namespace) -> int:
    with registry(arguments) as reg:
        tenants = list(reg.tenants())
    emit(arguments, tenants, "\n".join(f"{tenant['_id']:<32} {tenant.get('organization', '')}" for tenant in tenants))
    return 0
