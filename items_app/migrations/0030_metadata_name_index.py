"""An index of every metadata row by name (``MetadataEntry.Meta.indexes``): since 0029 the reader indexes are
partial, one per value type, and none serves a lookup by name alone (a vocabulary entry's uses, the check
that an entry is unused before it is deleted)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("items", "0029_reader_indexes_per_type"),
    ]

    operations = [
        migrations.AddIndex(model_name="metadataentry", index=models.Index(fields=["name"], name="metadata_name")),
    ]
