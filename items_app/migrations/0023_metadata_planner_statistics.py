"""PostgreSQL's planner learns which metadata names, types and values go together
(``items_app.planner_statistics``); nothing changes on SQLite."""

from django.db import migrations

from items_app import planner_statistics


class Migration(migrations.Migration):
    dependencies = [
        ("items", "0022_owner_visibility_index"),
    ]

    operations = [
        migrations.RunPython(planner_statistics.create, planner_statistics.drop),
    ]
