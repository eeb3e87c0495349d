from django.contrib import admin

from models_app.models import MLModel
from registry_project.items.admin import ItemAdmin


@admin.register(MLModel)
class MLModelAdmin(ItemAdmin):
    pass
