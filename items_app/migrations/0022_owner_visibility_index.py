"""A user's own non-public items counted from an index alone (``querysets.count_readable``): at 1,000,000 items
the owner's part of an unfiltered total looked up every item the user owns to read its visibility."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("items", "0021_item_counts"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="item",
            index=models.Index(fields=["kind", "owner", "visibility"], name="item_kind_owner_visibility"),
        ),
    ]
