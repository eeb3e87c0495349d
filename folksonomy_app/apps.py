from django.apps import AppConfig


class FolksonomyConfig(AppConfig):
    """The tenant's vocabulary of tags and metadata names (folk and curated default entries)."""

    name = "folksonomy_app"
    verbose_name = "Tags and metadata names"
