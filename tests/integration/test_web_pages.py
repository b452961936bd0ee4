"""The web client's pages over HTTP (no browser): what is served at / and /static/, its
Content-Security-Policy, and share links negotiating an HTML page (with a password form,
and 401/410/429/404 as pages) while API clients keep getting JSON."""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.factories import create_user
from tests.integration.test_sharing_links import add_message, make_conversation, share
from tests.live_app import live_client

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
STATIC = Path(__file__).resolve().parents[2] / "api" / "web" / "static"


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def assert_strict_csp(response) -> None:
    """No inline script, no third-party origin: everything from 'self' (or nothing at all)."""
    csp = csp_directives(response.headers["content-security-policy"])
    assert csp["default-src"] == ["'self'"] and csp["script-src"] == ["'self'"]
    for name, values in csp.items():
        for value in values:
            assert value in ("'self'", "'none'", "data:", "'script'"), f"{name} allows {value}"
    assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
    assert response.headers["x-content-type-options"] == "nosniff"


class _Markup(HTMLParser):
    """Script elements and event-handler attributes of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict] = []
        self.handlers: list[str] = []
        self.styles: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.handlers += [name for name in attributes if name.startswith("on")]
        if "style" in attributes:
            self.styles.append(tag)
        if tag == "script":
            self.scripts.append({**attributes, "text": ""})
            self._in_script = True

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1]["text"] += data


def assert_no_inline_code(html: str) -> _Markup:
    markup = _Markup()
    markup.feed(html)
    assert all(s.get("src", "").startswith("/static/") and not s["text"].strip() for s in markup.scripts)
    assert markup.handlers == [] and markup.styles == []
    assert not re.search(r"https?://", html.split("</head>")[0]), "the page head refers to another origin"
    return markup


async def test_the_client_page_and_its_assets_are_public_and_under_a_strict_csp(client):
    page = await client.get("/", headers=BROWSER)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert_strict_csp(page)
    markup = assert_no_inline_code(page.text)
    assert [s["src"] for s in markup.scripts] == ["/static/js/main.js"]

    for path in ("/static/js/main.js", "/static/app.css", "/static/favicon.svg"):
        asset = await client.get(path)
        assert asset.status_code == 200, path
        assert_strict_csp(asset)
    assert (await client.get("/static/js/main.js")).headers["content-type"].startswith("text/javascript")
    assert (await client.get("/static/../core/settings.py")).status_code == 404


def test_the_scripts_build_the_page_from_nodes_only():
    """No HTML string sinks anywhere in the client (Trusted Types would refuse them anyway)."""
    sources = {path.name: path.read_text() for path in STATIC.glob("js/*.js")}
    assert sources, "no scripts found"
    for name, text in sources.items():
        code = re.sub(r"^\s*//.*$", "", text, flags=re.M)  # comments may name what the code avoids
        for sink in (".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert sink not in code, f"{name} uses {sink}"
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text), f"{name} refers to another origin"


async def test_share_link_negotiates_a_page_for_browsers_and_json_for_api_clients(client, db, settings):
    owner = await create_user(db, settings)
    conversation_id = await make_conversation(db, owner, recent=2, title="On <b>justice</b>")
    await add_message(db, owner, conversation_id, "Is <script>alert(1)</script> fair?")
    link = await share(client, owner, conversation_id)
    url = f"/shared/{link['token']}"

    as_json = await client.get(url)
    assert as_json.status_code == 200 and as_json.headers["content-type"] == "application/json"
    assert as_json.json()["title"] == "On <b>justice</b>"
    assert as_json.headers["vary"] == "Accept"

    as_page = await client.get(url, headers=BROWSER)
    assert as_page.status_code == 200 and as_page.headers["content-type"].startswith("text/html")
    assert_strict_csp(as_page)
    assert_no_inline_code(as_page.text)
    assert as_page.headers["cache-control"] == "no-store" and as_page.headers["referrer-policy"] == "no-referrer"
    assert "<h1>On &lt;b&gt;justice&lt;/b&gt;</h1>" in as_page.text
    assert "Is &lt;script&gt;alert(1)&lt;/script&gt; fair?" in as_page.text
    assert as_page.text.count('class="msg ') == 3
    # Each page shown counts a view, as each JSON 200 does.
    assert await db.fetchval("SELECT view_count FROM shared_links WHERE id = $1::uuid", link["id"]) == 2


async def test_protected_share_page_asks_for_the_password_and_opens_with_it(client, db, settings):
    owner = await create_user(db, settings)
    link = await share(client, owner, await make_conversation(db, owner), password="sesame")
    url = f"/shared/{link['token']}"

    form = await client.get(url, headers=BROWSER)
    assert form.status_code == 401
    assert 'name="password"' in form.text and 'method="post"' in form.text and "not right" not in form.text
    wrong = await client.post(url, data={"password": "open sesame"}, headers=BROWSER)
    assert wrong.status_code == 401 and "That password is not right" in wrong.text
    assert await db.fetchval("SELECT view_count FROM shared_links WHERE id = $1::uuid", link["id"]) == 0

    opened = await client.post(url, data={"password": "sesame"}, headers=BROWSER)
    assert opened.status_code == 200 and "message 1" in opened.text
    assert_strict_csp(opened)
    # The header works for pages too (a script-free client could send it), and JSON is unchanged.
    assert (await client.get(url, headers={**BROWSER, "X-Share-Password": "sesame"})).status_code == 200
    assert (await client.get(url)).json()["code"] == "unauthorized"


async def test_throttled_gone_and_unknown_links_are_pages_with_the_same_statuses(client, db, settings):
    owner = await create_user(db, settings)
    conversation_id = await make_conversation(db, owner)
    protected = await share(client, owner, conversation_id, password="sesame")
    for i in range(5):
        assert (
            await client.post(f"/shared/{protected['token']}", data={"password": f"guess {i}"}, headers=BROWSER)
        ).status_code == 401
    throttled = await client.post(f"/shared/{protected['token']}", data={"password": "sesame"}, headers=BROWSER)
    assert throttled.status_code == 429 and "Too many attempts" in throttled.text
    assert 1 <= int(throttled.headers["retry-after"]) <= 15 * 60

    once = await share(client, owner, conversation_id, max_views=1)
    assert (await client.get(f"/shared/{once['token']}", headers=BROWSER)).status_code == 200
    gone = await client.get(f"/shared/{once['token']}", headers=BROWSER)
    assert gone.status_code == 410 and "no longer available" in gone.text
    assert_strict_csp(gone)

    unknown = await client.get("/shared/not-a-token", headers=BROWSER)
    assert unknown.status_code == 404 and "No such link" in unknown.text
    assert (await client.get("/shared/not-a-token")).json()["code"] == "not_found"


async def test_the_web_client_can_be_turned_off(db, settings):
    owner = await create_user(db, settings)
    async with live_client(dataclasses.replace(settings, web_client=False)) as api_only:
        assert (await api_only.get("/", headers=BROWSER)).status_code in (401, 404)
        assert (await api_only.get("/static/app.css")).status_code in (401, 404)
        link = await share(api_only, owner, await make_conversation(db, owner))
        shared = await api_only.get(f"/shared/{link['token']}", headers=BROWSER)
        assert shared.status_code == 200 and shared.headers["content-type"] == "application/json"
        assert (await api_only.post(f"/shared/{link['token']}", data={"password": "x"})).status_code == 404


@pytest.mark.parametrize("raw, expected", [("off", False), ("0", False), ("on", True), ("", True)])
def test_web_client_setting(monkeypatch, raw, expected):
    from core.settings import Settings

    monkeypatch.setenv("MUKTI_WEB_CLIENT", raw)
    assert Settings.from_env().web_client is expected


def test_web_client_setting_rejects_nonsense(monkeypatch):
    from core.settings import Settings

    monkeypatch.setenv("MUKTI_WEB_CLIENT", "maybe")
    with pytest.raises(ValueError, match="MUKTI_WEB_CLIENT"):
        Settings.from_env()
