from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    """Datasets that models are trained and tested on."""

    name = "datasets_app"
    verbose_name = "Datasets"
