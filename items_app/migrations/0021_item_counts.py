"""Items per kind and visibility, counted once here and kept by triggers from now on
(``items_app.item_counts``): an unfiltered list's total reads its public part from one row (issue 18)."""

from django.db import migrations, models

from items_app import item_counts


class Migration(migrations.Migration):
    dependencies = [
        ("items", "0020_lists_read_the_reader_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="ItemCount",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(max_length=16)),
                ("visibility", models.CharField(max_length=16)),
                ("items", models.BigIntegerField()),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("kind", "visibility"), name="itemcount_unique")],
            },
        ),
        migrations.CreateModel(
            name="ItemCountChange",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(max_length=16)),
                ("visibility", models.CharField(max_length=16)),
                ("change", models.BigIntegerField()),
            ],
            options={
                "indexes": [models.Index(fields=["kind", "visibility"], name="itemcountchange_counter")],
            },
        ),
        migrations.RunPython(item_counts.create_triggers, item_counts.drop_triggers),
    ]
