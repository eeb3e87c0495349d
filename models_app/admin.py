from django.contrib import admin

from items_app.admin import kind_admin
from models_app.kind import MODEL
from models_app.models import MLModel

admin.site.register(MLModel, kind_admin(MODEL))
