from django.apps import AppConfig


class ItemsConfig(AppConfig):
    """The core every kind of item shares; kind apps (``models_app``, ``datasets_app``) declare their kinds.

    The app label stays ``items``: migrations, table names and tenant archives name it.
    """

    name = "items_app"
    label = "items"
    verbose_name = "Items"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from folksonomy_app import uses
        from items_app import generation, services
        from items_app.models import Item, ItemTag, MetadataEntry
        from items_app.vocabulary_uses import ItemUses
        from tenants_app import databases
        from tenants_app import services as accounts

        # Its leading index column, ``kind``, has few values: sampled statistics would call it selective.
        databases.FULLY_ANALYSED_TABLES.add(Item._meta.db_table)
        # The layers below the items ask them through these (see each module's docstring).
        accounts.on_user_deletion(services.forgetting_user)
        uses.register("tag", ItemUses(ItemTag, "tag", "tags"))
        uses.register("metadata", ItemUses(MetadataEntry, "name", "metadata"))
        connection_created.connect(generation.install_guard, dispatch_uid="registry-item-write-guard")
