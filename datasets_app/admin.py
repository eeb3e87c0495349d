from django.contrib import admin

from datasets_app.kind import DATASET
from datasets_app.models import Dataset
from items_app.admin import kind_admin

admin.site.register(Dataset, kind_admin(DATASET))
