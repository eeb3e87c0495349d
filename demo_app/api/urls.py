from django.urls import re_path

from demo_app.api.views import DemoView

urlpatterns = [
    re_path(r"^demo/?$", DemoView.as_view(), name="demo"),
]
