"""The tenant's vocabulary: every tag and metadata name anyone used (folk) and the admins' curated ones (default)."""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, ClassVar, Self

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

MAX_NAME_LENGTH = 64


def normalize_name(value: str) -> str:
    return value.strip() if isinstance(value, str) else value


def validate_vocabulary_name(value: str) -> None:
    """1 to 64 characters, no surrounding spaces, no control characters."""
    if not isinstance(value, str) or not value or value != value.strip():
        raise ValidationError("A name is 1 to 64 characters without surrounding spaces.", code="invalid")
    if len(value) > MAX_NAME_LENGTH:
        raise ValidationError(f"A name is at most {MAX_NAME_LENGTH} characters.", code="max_length")
    if any(unicodedata.category(char) in ("Cc", "Cf") for char in value):
        raise ValidationError("A name cannot contain control characters.", code="invalid")


class Usage(models.TextChoices):
    DEFAULT = "default", "Curated by an admin"
    FOLK = "folk", "Introduced by use"


class VocabularyEntry(models.Model):
    id = models.CharField(primary_key=True, max_length=MAX_NAME_LENGTH, validators=[validate_vocabulary_name])
    usage = models.CharField(max_length=8, choices=Usage.choices, default=Usage.FOLK)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    timestamp = models.DateTimeField(default=timezone.now, editable=False)
    lastmod = models.DateTimeField(auto_now=True)

    if TYPE_CHECKING:
        # Django gives each concrete subclass its default manager; django-stubs declares none on an abstract
        # model, and the services reach the entries through ``type[VocabularyEntry]``.
        objects: ClassVar[models.Manager[Self]]

    class Meta:
        abstract = True
        ordering = ["id"]

    def __str__(self) -> str:
        return self.id


class Tag(VocabularyEntry):
    """A label for models and datasets. ``owner`` introduced it (null once that user is deleted)."""

    class Meta(VocabularyEntry.Meta):
        indexes = [models.Index(fields=["usage", "id"], name="tag_usage")]


class MetadataName(VocabularyEntry):
    """A metadata name (``accuracy``, ``learning_rate``) that items can carry a value for."""

    class Meta(VocabularyEntry.Meta):
        indexes = [models.Index(fields=["usage", "id"], name="metadataname_usage")]
