"""Model cards (``items_app.cards``): Markdown rendered, then sanitised, whatever the author typed.

The payloads are those an attacker would try on a page that shows user Markdown: scripts, event handlers,
``javascript:`` and ``data:`` URLs, images from other sites (a tracking pixel), SVG, comments hiding markup,
raw HTML blocks, markup nested to confuse a parser. No database is needed.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.test import override_settings
from django.utils.safestring import SafeString

from items_app.cards import EXCERPT_SOURCE, TAGS, card_excerpt, local_image, render_card


class _Elements(HTMLParser):
    """Every element and attribute of the rendered HTML, as a browser's parser would see them (text, even
    text that spells a script, is only text)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.comments: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


def assert_harmless(rendered: str) -> None:
    parser = _Elements()
    parser.feed(rendered)
    parser.close()
    assert not parser.comments, rendered
    for tag, attributes in parser.elements:
        assert tag in TAGS, rendered
        for name, value in attributes.items():
            assert not name.startswith("on"), rendered
            assert name in ("href", "src", "alt", "title", "class", "rel", "width", "height", "start"), rendered
            if name in ("href", "src"):
                assert not re.match(r"\s*(javascript|data|vbscript):", value or "", re.IGNORECASE), rendered
            if name == "src":
                assert local_image(value or "") == value, rendered


XSS_PAYLOADS = {
    "a script tag": "<script>window.__pwned = 1</script>",
    "a script tag inside a paragraph": "text <script>window.__pwned = 1</script> more",
    "an onerror handler": '<img src="/x.png" onerror="window.__pwned = 1">',
    "an onerror handler without quotes": "<img src=x onerror=window.__pwned=1>",
    "an onclick on an allowed tag": '<p onclick="window.__pwned = 1">click</p>',
    "a javascript: Markdown link": "[click](javascript:window.__pwned=1)",
    "a javascript: HTML link": '<a href="javascript:window.__pwned=1">click</a>',
    "a javascript: link with entities": '<a href="jav&#x61;script:window.__pwned=1">click</a>',
    "a javascript: link in capitals with spaces": '<a href="  JaVaScRiPt:window.__pwned=1">click</a>',
    "a data: image": "![pixel](data:image/png;base64,iVBORw0KGgo=)",
    "a data: HTML link": '<a href="data:text/html,<script>window.__pwned=1</script>">x</a>',
    "an SVG with a script": "<svg><script>window.__pwned = 1</script></svg>",
    "an SVG with onload": '<svg onload="window.__pwned = 1"><circle r="1"/></svg>',
    "an SVG image as data:": '<img src="data:image/svg+xml,<svg onload=alert(1)>">',
    "a comment hiding a script": "<!-- --><script>window.__pwned = 1</script><!-- -->",
    "a comment": "before <!-- <img src=x onerror=window.__pwned=1> --> after",
    "a raw HTML block": '<div onmouseover="window.__pwned = 1">\n\n**bold**\n\n</div>',
    "an iframe": '<iframe src="https://evil.example/"></iframe>',
    "a style element": "<style>body { display: none }</style>",
    "a style attribute": '<span style="position: fixed; inset: 0">cover</span>',
    "nested markup": "<<script>script>window.__pwned = 1<</script>/script>",
    "a nested quote of a script": "> > <script>window.__pwned = 1</script>",
    "a form": '<form action="https://evil.example/"><input name="password"><button>Go</button></form>',
    "a meta refresh": '<meta http-equiv="refresh" content="0;url=javascript:window.__pwned=1">',
    "a base tag": '<base href="https://evil.example/">',
    "an object": '<object data="javascript:window.__pwned=1"></object>',
    "a template": "<template><img src=x onerror=window.__pwned=1></template>",
    "math with a link": '<math><mi xlink:href="javascript:window.__pwned=1">x</mi></math>',
    "a link in a code span": "`<script>window.__pwned = 1</script>`",
}


@pytest.mark.parametrize("payload", XSS_PAYLOADS.values(), ids=XSS_PAYLOADS.keys())
def test_no_payload_survives_rendering(payload):
    assert_harmless(render_card(payload))


def test_a_code_span_shows_a_script_as_text():
    assert render_card("`<script>x</script>`") == "<p><code>&lt;script&gt;x&lt;/script&gt;</code></p>\n"


def test_it_returns_a_safe_string_for_templates():
    assert isinstance(render_card("**x**"), SafeString)
    assert render_card("") == ""


def test_it_renders_commonmark():
    rendered = render_card("# Title\n\nSome **bold** and *italic* text, `code` and ~~struck~~.\n\n- one\n- two\n")

    assert "<h1>Title</h1>" in rendered
    assert "<strong>bold</strong>" in rendered
    assert "<em>italic</em>" in rendered
    assert "<code>code</code>" in rendered
    assert "<s>struck</s>" in rendered
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in rendered


def test_it_renders_tables_with_their_alignment_as_classes():
    rendered = render_card("| metric | value |\n|:--|--:|\n| accuracy | 0.93 |\n")

    assert "<table>" in rendered
    assert '<th class="align-left">metric</th>' in rendered
    assert '<td class="align-right">0.93</td>' in rendered


def test_it_renders_fenced_code_with_its_language():
    rendered = render_card('```python\nprint("<b>hi</b>")\n```\n')

    assert rendered == '<pre><code class="language-python">print("&lt;b&gt;hi&lt;/b&gt;")\n</code></pre>\n'


def test_a_class_other_than_a_language_or_an_alignment_is_dropped():
    rendered = render_card('<code class="language-js evil">x</code> <td class="sr-only">y</td><span class="a">z</span>')

    assert 'class="language-js"' in rendered
    assert "evil" not in rendered
    assert "sr-only" not in rendered
    assert 'class="a"' not in rendered


def test_links_are_kept_and_marked_nofollow():
    rendered = render_card("[docs](https://example.com/docs) and <a href='/models/'>models</a>")

    assert '<a href="https://example.com/docs" rel="nofollow noopener noreferrer">docs</a>' in rendered
    assert '<a href="/models/" rel="nofollow noopener noreferrer">models</a>' in rendered


def test_an_author_cannot_set_the_rel_or_target_of_a_link():
    rendered = render_card('<a href="https://example.com" rel="opener" target="_blank">x</a>')

    assert rendered == '<p><a href="https://example.com" rel="nofollow noopener noreferrer">x</a></p>\n'


def test_ids_and_names_are_dropped_so_a_card_cannot_clobber_the_page():
    rendered = render_card('<img id="main" name="csrfmiddlewaretoken" src="/x.png"><h2 id="versions">V</h2>')

    assert "id=" not in rendered
    assert "name=" not in rendered


def test_images_of_the_registry_are_kept():
    rendered = render_card("![logo](/static/favicon.svg) ![relative](diagram.png)")

    assert '<img src="/static/favicon.svg" alt="logo">' in rendered
    assert '<img src="diagram.png" alt="relative">' in rendered


@override_settings(ALLOWED_HOSTS=["registry.example.com"])
def test_an_absolute_image_url_of_the_registry_becomes_its_path():
    rendered = render_card("![chart](https://registry.example.com/models/abc/versions/1/download?x=1)")

    assert '<img src="/models/abc/versions/1/download?x=1" alt="chart">' in rendered


@pytest.mark.parametrize(
    "src",
    [
        "https://evil.example/pixel.png",
        "http://evil.example/pixel.png",
        "//evil.example/pixel.png",
        "\\\\evil.example/pixel.png",
        "/\\evil.example/pixel.png",
        "/\t/evil.example/pixel.png",
        "ftp://evil.example/pixel.png",
        "data:image/png;base64,iVBORw0KGgo=",
        "javascript:alert(1)",
        "https://registry.example.com.evil.example/pixel.png",
    ],
)
@override_settings(ALLOWED_HOSTS=["registry.example.com"])
def test_images_from_elsewhere_lose_their_source(src):
    assert local_image(src) is None
    rendered = render_card(f'<img src="{src}" alt="pixel">')
    assert rendered == '<img alt="pixel">'


@override_settings(ALLOWED_HOSTS=["*"])
def test_a_wildcard_host_does_not_let_other_sites_images_in():
    assert render_card("![pixel](https://evil.example/pixel.png)") == '<p><img alt="pixel"></p>\n'


def test_image_sizes_are_numbers_or_nothing():
    rendered = render_card('<img src="/x.png" width="120" height="100%;background:url(//evil)">')

    assert rendered == '<img src="/x.png" width="120">'


def test_details_and_summary_are_kept():
    rendered = render_card("<details><summary>Training setup</summary>\n\n8 GPUs\n\n</details>")

    assert "<details><summary>Training setup</summary>" in rendered
    assert "<p>8 GPUs</p>" in rendered


def test_deep_nesting_is_bounded():
    rendered = render_card(">" * 10_000 + " deep")

    assert rendered.count("<blockquote>") <= 20


def test_an_excerpt_is_plain_text():
    text = "# Churn model\n\n**Predicts** churn <script>window.__pwned = 1</script> from `events` & tables."

    assert card_excerpt(text) == "Churn model Predicts churn from events & tables."


def test_an_excerpt_is_cut_at_its_length():
    excerpt = card_excerpt("word " * 100, length=20)

    assert len(excerpt) <= 20
    assert excerpt.endswith("…")


def test_an_excerpt_renders_only_the_start_of_a_long_card():
    text = "a" * EXCERPT_SOURCE + " " + "<b>never rendered</b>"

    assert "never" not in card_excerpt(text, length=10_000)


def test_a_card_shown_again_is_not_rendered_again(monkeypatch):
    from items_app import cards

    rendered = cards.render_card("# Again\n\nsame text")
    monkeypatch.setattr(cards, "_MARKDOWN", None)  # rendering again would fail

    assert cards.render_card("# Again\n\nsame text") == rendered


def test_the_cache_keeps_only_the_last_cards(monkeypatch):
    from items_app import cards

    monkeypatch.setattr(cards, "RENDERED_KEPT", 3)
    for n in range(10):
        cards.render_card(f"card {n}")

    assert len(cards._RENDERED) == 3
