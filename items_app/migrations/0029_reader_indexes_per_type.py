"""The metadata rows' reader indexes, one per value type, each of its type's rows only
(``models.reader_indexes``): a row enters one reader index instead of both, which kept batch creates at
1,000,000 items at 0.72 of their speed at 100,000 (issue 18; bench/README.md). The old indexes go first, so
the database never holds both sets; at 1,000,000 items building the three takes minutes."""

from django.db import migrations, models

# value type → the column its rows are compared by, as the migration made them (not the model's current list)
COMPARED = {"number": "number", "string": "text", "boolean": "text"}


class Migration(migrations.Migration):
    dependencies = [
        ("folksonomy_app", "0001_initial"),
        ("items", "0028_postings_version"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="metadataentry", name="metadata_readers_number"),
        migrations.RemoveIndex(model_name="metadataentry", name="metadata_readers_text"),
        *(
            migrations.AddIndex(
                model_name="metadataentry",
                index=models.Index(
                    condition=models.Q(("value_type", value_type)),
                    fields=["name", "kind", "public", column, "item", "item_created", "value_type"],
                    name=f"metadata_readers_{value_type}",
                ),
            )
            for value_type, column in COMPARED.items()
        ),
    ]
