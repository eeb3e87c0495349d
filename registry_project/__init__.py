"""The model registry's Django project: settings, URLs, and the API machinery shared by every app."""

__version__ = "0.1.0"
