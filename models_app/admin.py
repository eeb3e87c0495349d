from django.contrib import admin

from items_app.admin import ItemAdmin
from models_app.models import MLModel


@admin.register(MLModel)
class MLModelAdmin(ItemAdmin):
    pass
