"""The pages of models: ``/models/…``."""

from items_app.urls import item_routes
from models_app.kind import MODEL

urlpatterns = item_routes(MODEL)
