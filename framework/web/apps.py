from django.contrib.admin.apps import AdminConfig


class RegistryAdminConfig(AdminConfig):
    """Django admin, served by ``RegistryAdminSite`` (signs in through the registry's tenant sign-in)."""

    default_site = "framework.web.admin.RegistryAdminSite"
