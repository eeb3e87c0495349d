from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    """Datasets that models are trained and tested on (``datasets_app.kind``, ``datasets_app.lineage``)."""

    name = "datasets_app"
    verbose_name = "Datasets"

    def ready(self) -> None:
        from datasets_app.kind import DATASET
        from items_app import kinds

        kinds.register(DATASET)
