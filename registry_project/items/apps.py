from django.apps import AppConfig


class ItemsConfig(AppConfig):
    """One implementation for both item kinds; ``models_app`` and ``datasets_app`` specialise it."""

    name = "registry_project.items"
    label = "items"
    verbose_name = "Items"
