"""Tag and metadata rows carry copies of their item's kind and public flag (issue 18: totals of broad filters
counted from the rows' indexes), filled from the items here and kept in step by the services."""

from django.db import migrations, models

COPY = """
UPDATE {table} SET
    kind = (SELECT items_item.kind FROM items_item WHERE items_item.id = {table}.item_id),
    public = (SELECT items_item.visibility = 'public' FROM items_item WHERE items_item.id = {table}.item_id)
"""


class Migration(migrations.Migration):
    dependencies = [
        ("items", "0017_covering_metadata_text_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="itemtag",
            name="kind",
            field=models.CharField(default="", max_length=16),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="itemtag",
            name="public",
            field=models.BooleanField(default=False),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="metadataentry",
            name="kind",
            field=models.CharField(default="", max_length=16),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="metadataentry",
            name="public",
            field=models.BooleanField(default=False),
            preserve_default=False,
        ),
        migrations.RunSQL(COPY.format(table="items_itemtag"), migrations.RunSQL.noop),
        migrations.RunSQL(COPY.format(table="items_metadataentry"), migrations.RunSQL.noop),
        migrations.AddConstraint(
            model_name="itemtag",
            constraint=models.CheckConstraint(condition=models.Q(("kind", ""), _negated=True), name="itemtag_kind_copied"),
        ),
        migrations.AddConstraint(
            model_name="metadataentry",
            constraint=models.CheckConstraint(
                condition=models.Q(("kind", ""), _negated=True), name="metadata_kind_copied"
            ),
        ),
        migrations.AddIndex(
            model_name="itemtag",
            index=models.Index(fields=["tag", "kind", "public", "item"], name="itemtag_tag_readers"),
        ),
        migrations.AddIndex(
            model_name="metadataentry",
            index=models.Index(
                fields=["name", "value_type", "kind", "public", "number", "item"], name="metadata_readers_number"
            ),
        ),
        migrations.AddIndex(
            model_name="metadataentry",
            index=models.Index(
                fields=["name", "value_type", "kind", "public", "text", "item"], name="metadata_readers_text"
            ),
        ),
    ]
