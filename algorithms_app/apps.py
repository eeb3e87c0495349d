from django.apps import AppConfig


class AlgorithmsConfig(AppConfig):
    """Algorithms: items with a status and the datasets they were trained on (``algorithms_app.kind``)."""

    name = "algorithms_app"
    verbose_name = "Algorithms"

    def ready(self) -> None:
        from algorithms_app.kind import ALGORITHM
        from items_app import kinds

        kinds.register(ALGORITHM)
