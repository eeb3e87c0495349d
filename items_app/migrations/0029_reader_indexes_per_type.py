"""The metadata rows' reader indexes, one per value type, each of its type's rows only
(``models.reader_indexes``): a row enters one reader index instead of both, which kept batch creates at
1,000,000 items at 0.72 of their speed at 100,000 (issue 18; bench/README.md). The old indexes go first, so
the database never holds both sets; at 1,000,000 items building the three takes minutes."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("folksonomy_app", "0001_initial"),
        ("items", "0028_postings_version"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="metadataentry", name="metadata_readers_number"),
        migrations.RemoveIndex(model_name="metadataentry", name="metadata_readers_text"),
        migrations.AddIndex(
            model_name="metadataentry",
            index=models.Index(
                condition=models.Q(("value_type", "number")),
                fields=["name", "value_type", "kind", "public", "number", "item", "item_created"],
                name="metadata_readers_number",
            ),
        ),
        migrations.AddIndex(
            model_name="metadataentry",
            index=models.Index(
                condition=models.Q(("value_type", "string")),
                fields=["name", "value_type", "kind", "public", "text", "item", "item_created"],
                name="metadata_readers_string",
            ),
        ),
        migrations.AddIndex(
            model_name="metadataentry",
            index=models.Index(
                condition=models.Q(("value_type", "boolean")),
                fields=["name", "value_type", "kind", "public", "text", "item", "item_created"],
                name="metadata_readers_boolean",
            ),
        ),
    ]
