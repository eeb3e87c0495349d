from django.apps import AppConfig


class SeedConfig(AppConfig):
    """Coming from the original registry: importing one of its tenants (``manage.py import_seed``)."""

    name = "seed_app"
    verbose_name = "Original registry import"
