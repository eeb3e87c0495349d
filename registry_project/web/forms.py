from __future__ import annotations

from django import forms
from django.conf import settings


class SignInForm(forms.Form):
    tenant = forms.CharField(max_length=64, initial=lambda: settings.DEFAULT_TENANT)
    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username"}))
    password = forms.CharField(
        max_length=512, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
