"""The pages of datasets: ``/datasets/…``."""

from datasets_app.kind import DATASET
from items_app.urls import item_routes

urlpatterns = item_routes(DATASET)
