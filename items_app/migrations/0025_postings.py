"""Postings (``items_app.postings``): a number per item, and per tag and short string or boolean metadata
value the items carrying it as compressed bitmaps, built here from the rows there are and kept by triggers
from now on, so a filter's total over combined tag and value sets is a bitmap operation (issue 18).

At 1,000,000 items this numbers every item and reads every tag and posted metadata row once: about a
minute (``docs/operations.md``)."""

from django.db import migrations, models

from items_app import postings


class Migration(migrations.Migration):
    dependencies = [
        ("items", "0024_rows_copy_item_created"),
    ]

    operations = [
        migrations.CreateModel(
            name="ItemOrdinal",
            fields=[
                ("ordinal", models.BigAutoField(primary_key=True, serialize=False)),
                ("item", models.CharField(max_length=24, unique=True)),
            ],
        ),
        migrations.CreateModel(
            name="PostingChange",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(max_length=16)),
                ("public", models.BooleanField()),
                ("field", models.CharField(max_length=8)),
                ("name", models.CharField(max_length=255)),
                ("value", models.CharField(max_length=255)),
                ("ordinal", models.BigIntegerField()),
                ("change", models.SmallIntegerField()),
            ],
        ),
        migrations.CreateModel(
            name="Posting",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(max_length=16)),
                ("public", models.BooleanField()),
                ("field", models.CharField(max_length=8)),
                ("name", models.CharField(max_length=255)),
                ("value", models.CharField(max_length=255)),
                ("chunk", models.IntegerField()),
                ("bits", models.BinaryField()),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("kind", "field", "name", "value", "public", "chunk"), name="posting_unique"
                    )
                ],
            },
        ),
        migrations.RunPython(postings.create_triggers, postings.drop_triggers),
    ]
