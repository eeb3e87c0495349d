"""On PostgreSQL, each metadata row carries its item's ordinal, included in the number reader index, so that a
numeric range's edges read their ordinals from that index alone (``MetadataEntry.ordinal``, issue 18: two
ranges at 1,000,000 items spent 9.3 ms looking up the ordinals of 1,683 edge rows). SQLite keeps the column
empty and its index as it was. The number index goes first and is built again after the ordinals are
copied, so the copy does not update it row by row; built in the copy's transaction, it still holds the rows'
old versions until a REINDEX (docs/operations.md, Upgrade)."""

from django.db import migrations, models

from items_app import postings


class Migration(migrations.Migration):
    dependencies = [
        ("folksonomy_app", "0001_initial"),
        ("items", "0030_metadata_name_index"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="metadataentry", name="metadata_readers_number"),
        migrations.AddField(
            model_name="metadataentry",
            name="ordinal",
            field=models.BigIntegerField(editable=False, null=True, serialize=False),
        ),
        migrations.RunPython(postings.carry_ordinals, postings.stop_carrying_ordinals),
        migrations.AddIndex(
            model_name="metadataentry",
            index=models.Index(
                condition=models.Q(("value_type", "number")),
                fields=["name", "kind", "public", "number", "item", "item_created", "value_type"],
                include=("ordinal",),
                name="metadata_readers_number",
            ),
        ),
    ]
