"""The pages of algorithms: ``/algorithms/…``."""

from algorithms_app.kind import ALGORITHM
from items_app.urls import item_routes

urlpatterns = item_routes(ALGORITHM)
