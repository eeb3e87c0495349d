from django.contrib import admin

from algorithms_app.kind import ALGORITHM
from algorithms_app.models import Algorithm
from items_app.admin import kind_admin

admin.site.register(Algorithm, kind_admin(ALGORITHM))
