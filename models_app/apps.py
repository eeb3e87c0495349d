from django.apps import AppConfig


class ModelsConfig(AppConfig):
    """Trained ML models: items with a status and the datasets they were trained on (``models_app.kind``)."""

    name = "models_app"
    verbose_name = "Models"

    def ready(self) -> None:
        from items_app import kinds
        from models_app.kind import MODEL

        kinds.register(MODEL)
