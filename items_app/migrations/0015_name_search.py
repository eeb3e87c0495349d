"""Indexes for name search (``items_app.name_search``): each engine's own, created by that module."""

from django.db import migrations

from items_app import name_search


class Migration(migrations.Migration):
    dependencies = [("items", "0014_version_labels")]

    operations = [migrations.RunPython(name_search.create_indexes, name_search.drop_indexes)]
