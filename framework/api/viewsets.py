"""The base every API viewset builds on: validated input, list envelopes, and id-shaped URL segments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import QuerySet
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from framework.api.errors import validation_details
from framework.api.listing import ListSpec, paginate
from framework.errors import Invalid

S = TypeVar("S", bound=serializers.Serializer[Any])


class RegistryViewSet(viewsets.ViewSet):
    """Ids are opaque strings (never ``<int:pk>``); lists always go through the shared list machinery."""

    lookup_value_regex = r"[^/]+"
    list_spec: ListSpec

    def get_list_spec(self) -> ListSpec:
        return self.list_spec

    def list_response(
        self,
        request: Request,
        queryset: QuerySet[Any],
        serialize: Callable[[list[Any]], list[dict[str, Any]]],
    ) -> Response:
        return Response(self.list_page(request, queryset, serialize))

    def list_page(
        self,
        request: Request,
        queryset: QuerySet[Any],
        serialize: Callable[[list[Any]], list[dict[str, Any]]],
    ) -> dict[str, Any]:
        """The list envelope of ``queryset`` (already scoped to the caller) for this request's parameters."""
        return paginate(queryset, request.query_params, self.get_list_spec(), serialize)

    @staticmethod
    def validated(serializer_class: type[S], request: Request) -> dict[str, Any]:
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    @staticmethod
    def validated_each(serializer_class: type[S], bodies: list[Any]) -> list[dict[str, Any]]:
        """Each body of an array validated as ``validated`` does one, by one serializer (as DRF's own list
        serializer does); an error names the position of its body, ``[3] name: …``."""
        serializer = serializer_class()
        checked = []
        for index, body in enumerate(bodies):
            try:
                checked.append(dict(serializer.run_validation(body)))
            except serializers.ValidationError as exc:
                raise Invalid(f"[{index}] {validation_details(exc.detail)}") from None
        return checked
