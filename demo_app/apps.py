from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo tenant (``DEMO=true``): sample content made at start and the ``/v1/demo`` routes."""

    name = "demo_app"
    verbose_name = "Demo"

    def ready(self) -> None:
        from demo_app.startup import prepare_demo
        from tenants_app import startup

        startup.on_bootstrap(prepare_demo)
