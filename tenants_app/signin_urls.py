from django.urls import path

from tenants_app import signin as views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("signin/", views.signin, name="signin"),
    path("signout/", views.signout, name="signout"),
]
