"""Tag and metadata rows copy their item's creation time (``models.reader_copies``, as a number:
``items_app.recency``), last in the indexes a filter reads them by, so a page of few matches is ordered from
those indexes without looking each item up (``items_app.listing``). Existing rows take their item's time;
the indexes are rebuilt with the column.

At 1,000,000 items (15 million rows) this rewrites every tag and metadata row: minutes, not seconds, and
PostgreSQL's autovacuum has the old row versions to clear afterwards (``docs/operations.md``)."""

from typing import Any

from django.db import migrations, models

from items_app import recency

ROWS = ["itemtag", "metadataentry"]


def copy_item_times(apps: Any, schema_editor: Any) -> None:
    recency.copy_to_rows(schema_editor, [f"items_{name}" for name in ROWS])


class Migration(migrations.Migration):
    dependencies = [
        ("items", "0023_metadata_planner_statistics"),
    ]

    # The indexes that gain the column go first: the copy then rewrites rows under two indexes fewer, and
    # each index is built once, at the end, from the filled column.
    operations = [
        migrations.RemoveIndex("itemtag", "itemtag_tag_readers"),
        migrations.RemoveIndex("metadataentry", "metadata_readers_number"),
        migrations.RemoveIndex("metadataentry", "metadata_readers_text"),
        *(migrations.AddField(name, "item_created", models.BigIntegerField(null=True)) for name in ROWS),
        migrations.RunPython(copy_item_times, migrations.RunPython.noop),
        *(migrations.AlterField(name, "item_created", models.BigIntegerField()) for name in ROWS),
        migrations.AddIndex(
            "itemtag",
            models.Index(fields=["tag", "kind", "public", "item", "item_created"], name="itemtag_tag_readers"),
        ),
        migrations.AddIndex(
            "metadataentry",
            models.Index(
                fields=["name", "value_type", "kind", "public", "number", "item", "item_created"],
                name="metadata_readers_number",
            ),
        ),
        migrations.AddIndex(
            "metadataentry",
            models.Index(
                fields=["name", "value_type", "kind", "public", "text", "item", "item_created"],
                name="metadata_readers_text",
            ),
        ),
    ]
