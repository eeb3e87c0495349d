from django.urls import path

from tenants_app import account
from tenants_app import signin as views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("signin/", views.signin, name="signin"),
    path("signout/", views.signout, name="signout"),
    path("signin/forgot/", views.forgot_password, name="forgot-password"),
    path("signin/reset/", views.reset_password, name="reset-password"),
    path("signin/password/", views.change_password, name="change-password"),
    path("account/keys/", account.key_list, name="keys"),
    path("account/keys/<str:key_id>/revoke/", account.key_revoke, name="key-revoke"),
]
