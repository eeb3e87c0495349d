"""The API's JSON body parser: DRF's, reading through ``framework.jsontext`` (bounded depth and numbers, no
NaN, no lone surrogates or NUL characters), so a hostile body is a 400 ``invalid_json`` naming the problem."""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from framework import jsontext


class StrictJSONParser(JSONParser):
    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
            return jsontext.loads(text)
        except UnicodeDecodeError:
            raise ParseError(f"JSON parse error - the body is not {encoding} text") from None
        except jsontext.Unreadable as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
