"""From the original registry's documents to the registry's rows: what an import will write, and its report.

Nothing here writes. ``plan_import`` reads a ``Dump`` (and looks into the uploads folder) and returns a
``Plan``: ``--dry-run`` prints its report, the import writes it (``seed_app.importer``). What the original
registry allowed and the registry refuses is changed or left out here, each with a line of the report; a
document whose shape is not the original registry's (a name that is not a string, a list that is not a
list) stops the import with a ``DumpError`` naming the file, the document and the field. docs/migrating.md
lists every rule.
"""

from __future__ import annotations

from pathlib import Path

from seed_app.dump import Dump
from seed_app.plan.items import ItemContext, plan_items
from seed_app.plan.records import NewEntry, NewItem, NewUser, NewVersion, Plan
from seed_app.plan.users import plan_users
from seed_app.plan.vocabulary import plan_vocabulary
from seed_app.report import Report
from tenants_app.models import Role

__all__ = ["NewEntry", "NewItem", "NewUser", "NewVersion", "Plan", "plan_import"]

NOT_IMPORTED = {
    "passwordresets": "pending password resets are not carried over; a user who needs one asks again",
    "files": "a collection the original registry declared but never wrote",
}


def plan_import(dump: Dump, uploads: Path | None) -> Plan:
    """What importing ``dump`` (with the files of ``uploads``) writes, and the report of what it changes."""
    report = Report()
    for name in dump.ignored:
        report.note("dump", name, "not a collection of the original registry: ignored")
    for name, why in NOT_IMPORTED.items():
        if dump.documents(name):
            count = len(dump.documents(name))
            report.note(name, f"({count} document{'' if count == 1 else 's'})", f"not imported: {why}")
    users, user_ids = plan_users(dump, report)
    tags = plan_vocabulary(dump, "tags", user_ids, report)
    metadata = plan_vocabulary(dump, "metadatas", user_ids, report)
    admin_id = next(user.id for user in users if user.role == Role.ADMIN)  # oldest first
    context = ItemContext(user_ids, admin_id, tags, metadata, uploads, report)
    items = plan_items(dump, context)
    report.count("tags", len(tags.entries))
    report.count("metadata names", len(metadata.entries))
    return Plan(users, list(tags.entries.values()), list(metadata.entries.values()), items, report)
