from django.urls import path

from registry_project.web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("signin/", views.signin, name="signin"),
    path("signout/", views.signout, name="signout"),
]
