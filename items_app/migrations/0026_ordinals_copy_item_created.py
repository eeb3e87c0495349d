"""Each item's creation time beside its ordinal (``items_app.postings``), copied by the ordinals' triggers, so
that a page of matches found from the postings is sorted without reading the items (issue 18: at 1,000,000
items, 883 matches of two numeric ranges looked up through the items took 5.8 ms on SQLite, 1.4 from the
ordinals alone).

At 1,000,000 items the copy is one UPDATE of every ordinal, each reading its item by primary key: about
half a minute (``docs/operations.md``)."""

from django.db import migrations, models

from items_app import postings


class Migration(migrations.Migration):
    dependencies = [
        ("items", "0025_postings"),
    ]

    operations = [
        migrations.RunPython(postings.set_triggers_aside, postings.restore_triggers_of_0025),
        migrations.AddField(
            model_name="itemordinal",
            name="created",
            field=models.BigIntegerField(default=0),
            preserve_default=False,
        ),
        migrations.RunPython(postings.copy_creation_times, postings.set_triggers_aside),
    ]
