"""HTTP Structured Field Values (RFC 8941): the parsing algorithm of a Dictionary, as its section 4.2 writes it.

Used for headers defined as Dictionaries, such as ``Repr-Digest`` (RFC 9530). Each member's value is its bare
item (``int``, ``float``, ``str``, ``Token``, ``bytes``, ``bool``) or, for an inner list, a ``list`` of them;
parameters are parsed, so a malformed one fails the field, and then dropped (no caller reads them yet).
Anything the grammar does not allow raises ``StructuredFieldError``: RFC 8941 has a field that fails to parse
ignored whole, and a caller that needs a member it cannot find can refuse instead.
"""

from __future__ import annotations

import base64
import binascii
import string

_LCALPHA = string.ascii_lowercase
_KEY_CHARS = frozenset(_LCALPHA + string.digits + "_-.*")
_TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~:/")
_BASE64_CHARS = frozenset(string.ascii_letters + string.digits + "+/=")


class StructuredFieldError(ValueError):
    """The text is not a structured field of the expected type."""


class Token(str):
    """A Token bare item (``sha-256``, ``*/*``), told apart from a String."""


BareItem = int | float | str | bytes | bool
Member = BareItem | list[BareItem]


def parse_dictionary(text: str) -> dict[str, Member]:
    """The members of a Dictionary field, by key (a key given twice keeps its last value, as RFC 8941 says)."""
    parser = _Parser(text)
    parser.skip(" ")
    members: dict[str, Member] = {}
    while not parser.done():
        key = parser.key()
        if parser.take("="):
            members[key] = parser.item_or_inner_list()
        else:
            parser.parameters()
            members[key] = True
        parser.skip(" \t")
        if parser.done():
            break
        parser.expect(",")
        parser.skip(" \t")
        if parser.done():
            raise StructuredFieldError("a comma ends the dictionary")
    return members


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.at = text, 0

    def done(self) -> bool:
        return self.at >= len(self.text)

    def peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def take(self, char: str) -> bool:
        if self.peek() == char:
            self.at += 1
            return True
        return False

    def expect(self, char: str) -> None:
        if not self.take(char):
            raise StructuredFieldError(f"expected {char!r} at character {self.at}")

    def skip(self, chars: str) -> None:
        while self.peek() and self.peek() in chars:
            self.at += 1

    def key(self) -> str:
        if not self.peek() or self.peek() not in _LCALPHA + "*":
            raise StructuredFieldError(f"a key starts with a lowercase letter or '*' (character {self.at})")
        start = self.at
        while self.peek() and self.peek() in _KEY_CHARS:
            self.at += 1
        return self.text[start : self.at]

    def item_or_inner_list(self) -> Member:
        if not self.take("("):
            value = self.bare_item()
            self.parameters()
            return value
        items: list[BareItem] = []
        while not self.done():
            self.skip(" ")
            if self.take(")"):
                self.parameters()
                return items
            items.append(self.bare_item())
            self.parameters()
            if self.peek() not in (" ", ")", ""):  # "": the end, told below
                raise StructuredFieldError(f"an inner list's items are separated by spaces (character {self.at})")
        raise StructuredFieldError("an inner list is not closed")

    def parameters(self) -> None:
        while self.take(";"):
            self.skip(" ")
            self.key()
            if self.take("="):
                self.bare_item()

    def bare_item(self) -> BareItem:
        char = self.peek()
        if char == "-" or char.isdigit():
            return self.number()
        if char == '"':
            return self.string()
        if char == ":":
            return self.byte_sequence()
        if char == "?":
            return self.boolean()
        if char and (char in string.ascii_letters or char == "*"):
            start = self.at
            self.at += 1
            while self.peek() and self.peek() in _TOKEN_CHARS:
                self.at += 1
            return Token(self.text[start : self.at])
        raise StructuredFieldError(f"no item at character {self.at}")

    def number(self) -> int | float:
        negative = self.take("-")
        if not self.peek().isdigit():
            raise StructuredFieldError(f"a number needs a digit (character {self.at})")
        number = ""
        while self.peek().isdigit() or (self.peek() == "." and "." not in number):
            if self.peek() == "." and len(number) > 12:
                raise StructuredFieldError("a decimal has at most 12 digits before its point")
            number += self.text[self.at]
            self.at += 1
            if len(number) > (16 if "." in number else 15):
                raise StructuredFieldError("a number has at most 15 digits")
        if "." in number and not 1 <= len(number.partition(".")[2]) <= 3:
            raise StructuredFieldError("a decimal has 1 to 3 digits after its point")
        value = float(number) if "." in number else int(number)
        return -value if negative else value

    def string(self) -> str:
        self.expect('"')
        chars: list[str] = []
        while not self.done():
            char = self.text[self.at]
            self.at += 1
            if char == "\\":
                escaped = self.peek()
                if escaped not in ('"', "\\"):
                    raise StructuredFieldError("a string escapes only '\"' and '\\'")
                self.at += 1
                chars.append(escaped)
            elif char == '"':
                return "".join(chars)
            elif not " " <= char <= "~":
                raise StructuredFieldError("a string holds printable ASCII only")
            else:
                chars.append(char)
        raise StructuredFieldError("a string is not closed")

    def byte_sequence(self) -> bytes:
        self.expect(":")
        end = self.text.find(":", self.at)
        if end < 0:
            raise StructuredFieldError("a byte sequence is not closed")
        encoded = self.text[self.at : end]
        self.at = end + 1
        if not set(encoded) <= _BASE64_CHARS:
            raise StructuredFieldError("a byte sequence is base64")
        try:  # RFC 8941 asks parsers to accept a missing "=" padding
            return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise StructuredFieldError("a byte sequence is base64") from None

    def boolean(self) -> bool:
        self.expect("?")
        if self.take("1"):
            return True
        if self.take("0"):
            return False
        raise StructuredFieldError("a boolean is ?0 or ?1")
