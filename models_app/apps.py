from django.apps import AppConfig


class ModelsConfig(AppConfig):
    """Trained ML models: items with a status and the datasets they were trained on."""

    name = "models_app"
    verbose_name = "Models"
