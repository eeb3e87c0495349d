from django.apps import AppConfig
from django.db.backends.signals import connection_created


class TenantsConfig(AppConfig):
    """The catalog of tenants, and what every tenant is made of: its database, users, tokens and audit log."""

    name = "tenants_app"
    verbose_name = "Tenants and users"

    def ready(self) -> None:
        from framework.api.sqlite_regexp import use_re2_for_regexp

        connection_created.connect(use_re2_for_regexp, dispatch_uid="registry-re2-regexp")
