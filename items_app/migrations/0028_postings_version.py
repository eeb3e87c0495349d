"""The postings' version (``PostingsVersion``): one row, a random number that each fold draws anew, so that
a process may keep the postings it read while the number stays the same (``items_app.postings``)."""

from django.db import migrations, models

from items_app import postings


class Migration(migrations.Migration):
    dependencies = [
        ("items", "0027_ordinals_recent"),
    ]

    operations = [
        migrations.CreateModel(
            name="PostingsVersion",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("token", models.BigIntegerField()),
            ],
        ),
        migrations.RunPython(postings.first_version, migrations.RunPython.noop),
    ]
