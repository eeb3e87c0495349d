"""Model cards: an item's description is Markdown, rendered to HTML that is safe to put in a page.

Markdown (CommonMark, plus tables and strikethrough, with raw HTML allowed as model cards use it) is turned
into HTML by markdown-it-py, then that HTML is cleaned by nh3 (the ammonia sanitiser) against an
allow-list: whatever the author typed, the result has no scripts, no event handlers, no ``style``, no
``id``/``name`` (so it cannot clobber the page's own elements), no ``javascript:`` or ``data:`` URLs, links
marked ``nofollow noopener noreferrer``, and images only from the registry itself. Cleaning after rendering
is what makes it safe: the sanitiser sees exactly what the browser will. The page's Content-Security-Policy
(``img-src 'self'``, no inline scripts or styles) is a second wall, not the first. ``docs/pages.md`` says
what authors can use.
"""

from __future__ import annotations

import hashlib
import html
import re
import threading
from collections import OrderedDict
from typing import Final
from urllib.parse import urlsplit

import nh3
from django.conf import settings
from django.http.request import validate_host
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore

MAX_CARD_LENGTH: Final = 100_000  # characters of an item's description, for the API and the pages alike
EXCERPT_SOURCE: Final = 2_000  # characters of the source a list's excerpt is rendered from (bounded work)

# The tables' column alignment becomes a class: markdown-it writes it as a style attribute, which the CSP
# (style-src 'self') would refuse and report.
_ALIGN = re.compile(r"text-align:(left|center|right)")
_ALIGN_CLASSES: Final = frozenset({"align-left", "align-center", "align-right"})
_LANGUAGE = re.compile(r"language-[A-Za-z0-9_+#.-]{1,40}")
_DIMENSION = re.compile(r"[0-9]{1,4}")
# A character a browser drops from a URL or reads as a slash: with them "/\t/host" would leave the registry.
_UNSAFE_IN_URL = re.compile(r"[\x00-\x20\x7f\\]")

TAGS: Final = frozenset(
    {
        *("p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "code", "kbd", "samp"),
        *("strong", "b", "em", "i", "s", "del", "ins", "sub", "sup", "mark", "small", "abbr", "span", "div"),
        *("ul", "ol", "li", "dl", "dt", "dd", "details", "summary", "a", "img"),
        *("table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td"),
    }
)
ATTRIBUTES: Final = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "ol": {"start"},
    "code": {"class"},
    "th": {"class", "colspan", "rowspan"},
    "td": {"class", "colspan", "rowspan"},
}
URL_SCHEMES: Final = frozenset({"http", "https", "mailto"})


def _alignment_as_class(state: StateCore) -> None:
    for token in state.tokens:
        if token.type in ("th_open", "td_open") and (match := _ALIGN.fullmatch(str(token.attrs.pop("style", "")))):
            token.attrSet("class", f"align-{match.group(1)}")


_MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
_MARKDOWN.core.ruler.push("alignment_as_class", _alignment_as_class)


def _own_hosts() -> list[str]:
    """The names the registry answers to; a wildcard names nobody in particular."""
    return [host for host in settings.ALLOWED_HOSTS if host != "*"]


def local_image(src: str) -> str | None:
    """``src`` if it is a path on the registry (an absolute URL of the registry becomes its path), else None.

    An image from elsewhere would tell another site who reads the card, and the CSP would refuse it anyway.
    """
    if _UNSAFE_IN_URL.search(src):
        return None
    try:
        parts = urlsplit(src)
    except ValueError:
        return None
    if not parts.scheme and not parts.netloc:
        return src if not src.startswith("//") else None
    if parts.scheme not in ("http", "https") or not parts.hostname or not validate_host(parts.netloc, _own_hosts()):
        return None
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


def _attribute(tag: str, name: str, value: str) -> str | None:
    """The value an allowed attribute keeps (None drops it), beyond what the allow-list alone says."""
    if name == "src":
        return local_image(value)
    if name == "class":
        keep = _ALIGN_CLASSES if tag in ("th", "td") else None
        classes = [c for c in value.split() if (c in keep if keep else _LANGUAGE.fullmatch(c))]
        return " ".join(classes) or None
    if name in ("width", "height", "colspan", "rowspan", "start"):
        return value if _DIMENSION.fullmatch(value.strip()) else None
    return value


_CLEANER = nh3.Cleaner(
    tags=set(TAGS),
    clean_content_tags={"script", "style", "template", "noscript", "iframe", "object", "svg", "math", "textarea"},
    attributes=ATTRIBUTES,
    attribute_filter=_attribute,
    strip_comments=True,
    link_rel="nofollow noopener noreferrer",
    url_schemes=set(URL_SCHEMES),
)


def render_card(text: str) -> SafeString:
    """``text`` (Markdown) as HTML that is safe to put in a page as it is."""
    if not text:
        return mark_safe("")
    # the registry's own hosts decide which images stay: part of the key (settings differ between tests)
    digest = hashlib.blake2b(f"{','.join(_own_hosts())}\0{text}".encode(), digest_size=16).digest()
    with _RENDERED_LOCK:
        cached = _RENDERED.get(digest)
        if cached is not None:
            _RENDERED.move_to_end(digest)
            return cached
    rendered = mark_safe(_CLEANER.clean(_MARKDOWN.render(text)))  # noqa: S308 - sanitised just now
    with _RENDERED_LOCK:
        _RENDERED[digest] = rendered
        while len(_RENDERED) > RENDERED_KEPT:
            _RENDERED.popitem(last=False)
    return rendered


# The last cards rendered by this process, by a digest of their text: an item page shown again does not
# render its card again (a 10 KB card costs ~10-20 ms, a 100 KB one ~100-300 ms; bench/README.md "cards").
# Keyed by text, so an edited card is a new entry; bounded, so at most ~128 cards' HTML stay in memory.
RENDERED_KEPT = 128
_RENDERED: OrderedDict[bytes, SafeString] = OrderedDict()
_RENDERED_LOCK = threading.Lock()


_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"\s+")


def card_excerpt(text: str, length: int = 100) -> str:
    """The start of the card as plain text, at most ``length`` characters (the pages escape it as any text).

    Only the start of the source is rendered, so a list of a hundred long cards costs a hundred short ones.
    """
    rendered = _TAG.sub(" ", render_card(text[:EXCERPT_SOURCE]))
    plain = _SPACES.sub(" ", html.unescape(rendered)).strip()
    return plain if len(plain) <= length else plain[: length - 1].rstrip() + "…"
