"""A small HTML template renderer: `${name}` placeholders, every value escaped unless it is
`Html` (markup this code built from escaped parts). Enough for the few server-rendered
pages; no template engine dependency."""

from __future__ import annotations

import functools
import html
from pathlib import Path
from string import Template

TEMPLATES = Path(__file__).parent / "templates"


class Html(str):
    """Markup that is safe to insert as is (built only from escaped values)."""


def escape(value: object) -> Html:
    return value if isinstance(value, Html) else Html(html.escape(str(value), quote=True))


def join(parts) -> Html:
    return Html("".join(escape(part) for part in parts))


@functools.cache
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def render(name: str, **values: object) -> Html:
    """The template `name` with each value escaped (Html values inserted as they are).
    A placeholder without a value is a KeyError: a template and its caller disagree."""
    return Html(_template(name).substitute({key: escape(value) for key, value in values.items()}))


def page(title: str, body: Html) -> Html:
    """A whole HTML page in the client's shell (its stylesheet; no script)."""
    return render("page.html", title=title, body=body)
