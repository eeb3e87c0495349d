from django.apps import AppConfig


class ItemsConfig(AppConfig):
    """One implementation for both item kinds; ``models_app`` and ``datasets_app`` specialise it."""

    name = "items_app"
    label = "items"
    verbose_name = "Items"

    def ready(self) -> None:
        from items_app.models import Item
        from tenants_app import databases

        # Its leading index column, ``kind``, has two values: sampled statistics would call it selective.
        databases.FULLY_ANALYSED_TABLES.add(Item._meta.db_table)
