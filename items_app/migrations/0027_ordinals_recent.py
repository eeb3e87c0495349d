"""An index of the ordinals by creation time, with the ordinal beside it: a page of posted matches is read
from their highest ordinals, and this index finds, from its entries alone, any item at least as new numbered
lower (``postings.newest``). Building it reads every ordinal once: a few seconds at 1,000,000 items."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("items", "0026_ordinals_copy_item_created"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="itemordinal",
            index=models.Index(fields=["created", "ordinal"], name="item_ordinal_recent"),
        ),
    ]
