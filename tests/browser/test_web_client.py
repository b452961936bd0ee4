"""The web client end to end in headless chromium: sign up, pick a technique (sorted by
votes), start and rename a conversation, ask and watch the reply come in, page back
through the history, search with highlighted hits, see the usage chart, share the
conversation and open the link in a fresh browser, protected or not; on a phone-sized
screen, with the back button, and under the Content-Security-Policy."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from tests.browser.support import (
    RECORD_STREAMING,
    TIMEOUT_MS,
    CuttableProxy,
    Learner,
    Watch,
    api,
    ask_and_wait,
    set_plan,
    sign_in,
    sign_up,
    start_dialogue,
)

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (uv sync --group dev)").expect
pytestmark = pytest.mark.slow

# Filled by the flow test for the tests after it (one stack per module, tests in file order).
FLOW: dict = {}


@pytest.fixture
def page(browser, stack, artifacts, request):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    watch = Watch()
    watch.attach(page)
    page.watch = watch
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        page.screenshot(path=str(artifacts / f"failed-{request.node.name}.png"))
    context.close()
    assert watch.problems == [], watch.problems


def _vote_up(base_url: str, technique_name: str, voters: int) -> None:
    """Other learners upvote one built-in technique, so "top" differs from the built-in order."""
    techniques = None
    for _ in range(voters):
        registered = httpx.post(
            base_url + "/auth/register",
            json={"email": f"voter-{uuid.uuid4().hex[:10]}@example.org", "password": "a voter's password"},
            timeout=30,
        )
        assert registered.status_code == 201, registered.text
        headers = {"Authorization": f"Bearer {registered.json()['access_token']}"}
        techniques = techniques or httpx.get(base_url + "/techniques", params={"limit": 100}, headers=headers).json()
        target = next(t for t in techniques["items"] if t["name"] == technique_name)
        vote = httpx.put(f"{base_url}/techniques/{target['id']}/vote", json={"value": 1}, headers=headers)
        assert vote.status_code == 200, vote.text


def test_the_whole_flow(page, stack, artifacts):
    base = stack.url
    _vote_up(base, "Probing assumptions", voters=3)
    learner = sign_up(page, base)
    set_plan(stack.database_url, learner.user_id, "paid")  # room for the questions below
    FLOW["learner"] = learner

    # The technique library, most upvoted first, each with its description.
    page.get_by_role("link", name="New dialogue").first.click()
    page.locator(".technique").first.wait_for()
    with api(base, learner) as client:
        top = client.get("/techniques", params={"sort": "top", "limit": 20}).json()["items"]
    shown = page.locator(".technique .name").all_inner_texts()
    assert [name.split(" ")[0:2] for name in shown] == [t["name"].split(" ")[0:2] for t in top]
    assert top[0]["name"] == "Probing assumptions" and shown[0].startswith("Probing assumptions")
    for technique in top:
        if technique["description"]:
            assert page.get_by_text(technique["description"], exact=True).is_visible()

    page.get_by_label("Title (optional)").fill("On justice")
    page.locator(".technique label", has_text="Probing assumptions").click()
    page.get_by_role("button", name="Start").click()
    page.get_by_role("heading", name="On justice").wait_for()
    conversation_id = re.search(r"#/c/([0-9a-f-]{36})", page.url).group(1)
    FLOW["conversation_id"] = conversation_id
    expect(page.locator(".dialogue-head .meta")).to_contain_text("Technique: Probing assumptions")

    # Rename in place, with the keyboard.
    page.get_by_role("button", name="Rename").click()
    page.get_by_label("New title").fill("Justice and fairness")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Justice and fairness").wait_for()
    page.locator(".sidebar a[aria-current=page]", has_text="Justice and fairness").wait_for()

    # Ask; the reply comes in and stays.
    page.get_by_label("Your message").fill("Is justice the same thing as fairness?")
    page.keyboard.press("Enter")
    reply = page.locator(".msg.assistant:not(.streaming)").last
    reply.wait_for()
    assert "?" in reply.inner_text()
    assert page.locator(".msg.user").last.inner_text().endswith("Is justice the same thing as fairness?")

    # More history than one page: scrolling up to the top loads the earlier messages.
    with api(base, learner) as client:
        ask_and_wait(
            client,
            conversation_id,
            [f"Question {i}: is fairness about equal shares?" for i in range(18)]
            + ["Is <b>courage</b> a virtue & a duty?"],
        )
    page.reload()
    page.locator(".msg").first.wait_for()
    assert page.locator(".msg").count() == 30 and page.locator('.msg[data-seq="1"]').count() == 0
    page.locator(".history").evaluate("el => { el.scrollTop = 0; }")
    page.locator('.msg[data-seq="1"]').wait_for()
    assert page.locator(".msg").count() == 40
    assert page.locator('.msg[data-seq="1"] .text').inner_text() == "Is justice the same thing as fairness?"
    page.screenshot(path=str(artifacts / "dialogue.png"))

    # Search: hits highlighted with <mark>, the message's own markup shown as text.
    page.get_by_role("link", name="Search").click()
    page.get_by_label("Search your messages").fill("courage")
    page.keyboard.press("Enter")
    hit = page.locator(".hit").first
    hit.wait_for()
    assert hit.locator("mark").first.inner_text().lower() == "courage"
    assert "</b>" in hit.locator(".snippet").inner_text() and hit.locator(".snippet b").count() == 0
    hit.locator("a").click()
    found = page.locator(".msg.found")
    found.wait_for()
    assert found.locator(".text").inner_text() == "Is <b>courage</b> a virtue & a duty?"

    # The back button returns to the search, results and all.
    page.go_back()
    page.locator(".hit mark").first.wait_for()
    assert "#/search?q=courage" in page.url

    # Usage: today's questions in the chart's last bar and next to it, "used today".
    with api(base, learner) as client:
        today = client.get("/me/usage").json()["today"]
    assert today["questions"] == 20
    page.get_by_role("link", name="Usage").click()
    bar = page.locator(f'#questions-chart g.bar[data-day="{today["day"]}"]')
    bar.wait_for(state="attached")
    assert bar.get_attribute("data-value") == "20"
    assert f"{today['day']}: 20 questions" in bar.locator("title").text_content()
    tokens_bar = page.locator(f'#tokens-chart g.bar[data-day="{today["day"]}"]')
    assert tokens_bar.get_attribute("data-value") == str(today["tokens"])
    assert page.locator("#used-today").inner_text().startswith("20 of ")
    assert page.locator("#questions-chart g.bar").count() == 30
    page.locator(".usage-grid").screenshot(path=str(artifacts / "usage.png"))
    page.screenshot(path=str(artifacts / "usage-page.png"), full_page=True)

    # Share links: one protected by a password, one open; then open them as a stranger would.
    page.goto(f"{base}/#/c/{conversation_id}")
    page.get_by_role("button", name="Share").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Expires after").select_option(label="1 day")
    dialog.get_by_label("Views allowed").fill("5")
    dialog.get_by_label("Password (optional, at least 4 characters)").fill("sesame")
    dialog.get_by_role("button", name="Create link").click()
    protected_url = dialog.get_by_label("Share link").input_value()
    dialog.get_by_role("button", name="Create link").click()
    page.locator(".share-result", has_text="views:").wait_for()
    page.wait_for_function("prev => document.querySelector('#share-url').value !== prev", arg=protected_url)
    open_url = dialog.get_by_label("Share link").input_value()
    expect(page.locator(".shares li")).to_have_count(2)
    page.screenshot(path=str(artifacts / "share-dialog.png"))
    page.keyboard.press("Escape")
    assert page.get_by_role("dialog").count() == 0
    assert protected_url.startswith(base + "/shared/") and open_url != protected_url
    FLOW["open_url"], FLOW["protected_url"] = open_url, protected_url


def test_shared_links_open_as_pages_in_a_fresh_browser(browser, stack, artifacts):
    if "protected_url" not in FLOW:
        pytest.skip("the flow test did not get as far as sharing")
    stranger = browser.new_context(viewport={"width": 1024, "height": 800})  # no session, no cookies
    stranger.set_default_timeout(TIMEOUT_MS)
    page = stranger.new_page()
    watch = Watch()
    watch.attach(page)
    try:
        response = page.goto(FLOW["protected_url"])
        assert response.status == 401
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
        page.get_by_role("heading", name="This conversation is protected").wait_for()
        page.get_by_label("Password").fill("not the password")
        page.keyboard.press("Enter")
        page.get_by_text("That password is not right").wait_for()
        page.screenshot(path=str(artifacts / "shared-password.png"))
        page.get_by_label("Password").fill("sesame")
        page.get_by_role("button", name="Open the conversation").click()
        page.get_by_role("heading", name="Justice and fairness").wait_for()
        assert page.locator(".msg").count() == 40
        assert page.locator('.msg[data-seq="1"] .text').inner_text() == "Is justice the same thing as fairness?"
        page.screenshot(path=str(artifacts / "shared-protected.png"), full_page=False)

        response = page.goto(FLOW["open_url"])
        assert response.status == 200
        page.get_by_role("heading", name="Justice and fairness").wait_for()
        page.screenshot(path=str(artifacts / "shared.png"), full_page=False)

        # Revoked by its owner: the same URL is now a 410 page.
        with api(stack.url, FLOW["learner"]) as client:
            shares = client.get(f"/conversations/{FLOW['conversation_id']}/shares").json()["items"]
            assert all(client.delete(f"/shares/{s['id']}").status_code == 204 for s in shares)
        response = page.goto(FLOW["open_url"])
        assert response.status == 410
        page.get_by_role("heading", name="This link is no longer available").wait_for()
    finally:
        stranger.close()
    assert watch.problems == [], watch.problems


def test_csp_blocks_inline_script_html_sinks_and_other_origins(page, stack):
    # The server's page with an inline script and a third-party script slipped in, under the
    # server's own headers: the browser must refuse both, and the client must still work.
    def tampered(route):
        response = route.fetch()
        injected = "<script>window.__inlineRan = true</script><script src='https://cdn.example.org/x.js'></script>"
        route.fulfill(response=response, body=response.text().replace("</head>", injected + "</head>"))

    page.route(stack.url + "/", tampered)
    page.goto(stack.url + "/")
    page.get_by_role("heading", name="Sign in").wait_for()  # the client's own module script ran
    assert page.evaluate("window.__inlineRan") is None
    violations = page.watch.csp_violations()
    assert any("inline script" in v for v in violations), violations
    assert any("cdn.example.org" in v for v in violations), violations
    page.watch.problems.clear()  # the violations provoked here are the point of this test

    outcome = page.evaluate("""async () => {
        const violations = [];
        document.addEventListener("securitypolicyviolation", (e) => violations.push(e.violatedDirective));
        const refused = (action) => { try { action(); return false; } catch (e) { return e instanceof TypeError; } };
        // Trusted Types: no string becomes script, markup or an event handler.
        const scriptText = refused(() => { document.createElement("script").textContent = "window.__ran = 1"; });
        const markup = refused(() => document.body.insertAdjacentHTML("beforeend", "<b>x</b>"));
        const handler = refused(() => document.createElement("b").setAttribute("onclick", "window.__ran = 1"));
        // connect-src 'self': no request to another origin.
        let fetched = true;
        try { await fetch("https://example.org/"); } catch (e) { fetched = false; }
        await new Promise((resolve) => setTimeout(resolve, 200));
        return {scriptText, markup, handler, fetched, violations};
    }""")
    page.watch.problems.clear()
    assert outcome["scriptText"] and outcome["markup"] and outcome["handler"], outcome
    assert outcome["fetched"] is False and any(v.startswith("connect-src") for v in outcome["violations"]), outcome


def test_phone_sized_screen(browser, stack, artifacts):
    if "learner" not in FLOW:
        pytest.skip("the flow test did not get as far as signing up")
    learner: Learner = FLOW["learner"]
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    phone.set_default_timeout(TIMEOUT_MS)
    page = phone.new_page()
    watch = Watch()
    watch.attach(page)
    try:
        sign_in(page, stack.url, learner)
        # The conversation list is the home page on a phone.
        page.locator(".sidebar a", has_text="Justice and fairness").click()
        page.locator(".msg").first.wait_for()
        width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"the page scrolls sideways: {width}"
        composer = page.get_by_label("Your message")
        send = page.get_by_role("button", name="Send")
        assert composer.is_visible() and send.bounding_box()["y"] + send.bounding_box()["height"] <= 844
        page.screenshot(path=str(artifacts / "phone-dialogue.png"))
        page.go_back()
        page.locator(".sidebar a", has_text="Justice and fairness").wait_for()
    finally:
        phone.close()
    assert watch.problems == [], watch.problems


@pytest.fixture
def stub_pace(stack):
    """Slow the stub's streamed replies down (words per second, replies N times longer); reset after."""

    def pace(tokens_per_second: float, reply_repeat: int) -> None:
        answer = stack.stub_control(tokens_per_second=tokens_per_second, reply_repeat=reply_repeat)
        assert answer.status_code == 200, f"the stub has no streaming knobs: {answer.text}"

    yield pace
    stack.stub_control(tokens_per_second=0, reply_repeat=1)


def test_a_streamed_reply_appears_word_by_word(page, stack, stub_pace, artifacts):
    if not stack.has_route("get", "/queue/{}/events"):
        pytest.skip("this server has no live answers yet (GET /queue/{id}/events, issue 'Live answers')")
    stub_pace(tokens_per_second=12, reply_repeat=3)
    start_dialogue(page, stack.url, stack.database_url, "Streaming")
    page.evaluate(RECORD_STREAMING)
    page.get_by_label("Your message").fill("Can a rule be fair and still unjust?")
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.__seen.length >= 4")
    page.screenshot(path=str(artifacts / "dialogue-streaming.png"))
    reply = page.locator(".msg.assistant:not(.streaming) .text").last
    reply.wait_for()
    final = reply.inner_text()
    seen = page.evaluate("window.__seen")

    assert len(final.split()) >= 30
    assert len(seen) >= 10, f"the reply came in {len(seen)} pieces: {seen}"
    assert all(final.startswith(state) for state in seen), "a streamed state is not a prefix of the reply"
    assert all(len(a) < len(b) for a, b in zip(seen, seen[1:], strict=False)), "the streamed text shrank"
    assert len(seen[0].split()) < len(final.split()) / 3, "the first piece shown was most of the reply"


def test_stop_keeps_the_reply_as_far_as_it_got(page, stack, stub_pace):
    if not stack.has_route("post", "/queue/{}/cancel"):
        pytest.skip("this server cannot stop a reply yet (POST /queue/{id}/cancel, issue 'Live answers')")
    stub_pace(tokens_per_second=6, reply_repeat=20)
    learner, conversation_id = start_dialogue(page, stack.url, stack.database_url, "Stopping")
    page.evaluate(RECORD_STREAMING)
    page.get_by_label("Your message").fill("Is it ever right to break a promise?")
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.__seen.length >= 3")
    page.get_by_role("button", name="Stop").click()
    stopped = page.locator(".msg.assistant:not(.streaming)").last
    expect(stopped.locator(".note")).to_contain_text("Stopped")
    shown = stopped.locator(".text").inner_text()
    assert page.get_by_role("button", name="Stop").is_hidden()
    with api(stack.url, learner) as client:
        stored = client.get(f"/conversations/{conversation_id}/messages").json()["items"][-1]
    assert stored["role"] == "assistant" and stored["content"] == shown
    assert 0 < len(shown.split()) < 100  # 20 times a reply of 10+ words, cut short


def test_regenerate_replaces_the_last_reply(page, stack):
    if not stack.has_route("post", "/conversations/{}/regenerate"):
        pytest.skip("this server cannot regenerate a reply yet (POST /conversations/{id}/regenerate, 'Dialogue')")
    learner, conversation_id = start_dialogue(page, stack.url, stack.database_url, "Regenerating")
    page.get_by_label("Your message").fill("What makes a reason a good reason?")
    page.keyboard.press("Enter")
    page.locator(".msg.assistant:not(.streaming)").wait_for()
    page.locator(".msg.assistant").evaluate("el => { el.id = 'replaced-reply'; }")
    page.get_by_role("button", name="Regenerate").click()
    page.locator("#replaced-reply").wait_for(state="detached")
    expect(page.locator(".msg.assistant:not(.streaming)[data-seq]")).to_have_count(1)
    expect(page.locator(".msg.assistant")).to_have_count(1)
    expect(page.get_by_role("button", name="Regenerate")).to_be_visible()
    with api(stack.url, learner) as client:
        items = client.get(f"/conversations/{conversation_id}/messages").json()["items"]
        versions = client.get(f"/conversations/{conversation_id}/messages/{items[-1]['seq']}/versions").json()
    assert [m["role"] for m in items] == ["user", "assistant"]
    assert len(versions["items"]) == 2
    assert page.locator(".msg.assistant .text").inner_text() == items[-1]["content"]


def test_a_dropped_stream_resumes_without_missing_or_repeated_text(page, stack, stub_pace):
    if not stack.has_route("get", "/queue/{}/events"):
        pytest.skip("this server has no live answers yet (GET /queue/{id}/events, issue 'Live answers')")
    stub_pace(tokens_per_second=8, reply_repeat=4)
    proxy = CuttableProxy(int(stack.url.rsplit(":", 1)[1]))
    try:
        base = f"http://127.0.0.1:{proxy.port}"
        learner, conversation_id = start_dialogue(page, base, stack.database_url, "Resuming")
        resumed: list[str | None] = []
        page.on("request", lambda r: resumed.append(r.headers.get("last-event-id")) if "/events" in r.url else None)
        page.evaluate(RECORD_STREAMING)
        page.get_by_label("Your message").fill("Does a promise bind you when the reasons for it are gone?")
        page.keyboard.press("Enter")
        page.wait_for_function("() => window.__seen.length >= 3")
        assert proxy.cut() >= 2  # the network drops mid-reply: the client reconnects with Last-Event-ID
        reply = page.locator(".msg.assistant:not(.streaming) .text").last
        reply.wait_for()
    finally:
        proxy.close()
    with api(stack.url, learner) as client:
        stored = client.get(f"/conversations/{conversation_id}/messages").json()["items"][-1]
    assert reply.inner_text() == stored["content"]
    seen = page.evaluate("window.__seen")
    assert all(stored["content"].startswith(state) for state in seen), "text was repeated or lost on the way"
    assert resumed and resumed[0], f"no resumption with Last-Event-ID: {resumed}"


def test_an_unusable_access_token_is_refreshed_once_and_the_page_carries_on(page, stack):
    sign_up(page, stack.url, "Refresher")
    before = page.evaluate("JSON.parse(sessionStorage.getItem('mukti.session'))")
    # As if the access token had expired: the next call is a 401, the client refreshes and retries.
    page.evaluate("""() => {
        const s = JSON.parse(sessionStorage.getItem('mukti.session'));
        sessionStorage.setItem('mukti.session', JSON.stringify({...s, access_token: 'expired.' + s.access_token}));
    }""")
    refreshes: list[str] = []
    page.on("request", lambda r: refreshes.append(r.url) if r.url.endswith("/auth/refresh") else None)
    page.get_by_role("link", name="Usage").click()
    page.locator("#used-today").wait_for()
    after = page.evaluate("JSON.parse(sessionStorage.getItem('mukti.session'))")
    assert len(refreshes) == 1  # one refresh for the page's parallel calls (a reused refresh token revokes all)
    assert after["access_token"] != before["access_token"] and after["refresh_token"] != before["refresh_token"]


def test_a_refused_question_says_when_to_retry_and_keeps_the_text(page, stack):
    learner = sign_up(page, stack.url, "Eager")  # the free plan: 10 questions an hour
    with api(stack.url, learner) as client:
        conversation_id = client.post("/conversations", json={"title": "Too many"}).json()["id"]
        ask_and_wait(client, conversation_id, [f"Question {i} about limits?" for i in range(10)])
    page.goto(f"{stack.url}/#/c/{conversation_id}")
    page.get_by_label("Your message").fill("One more about limits?")
    page.keyboard.press("Enter")
    notice = page.locator("#notice .notice-error")
    expect(notice).to_contain_text("try again in")
    assert page.get_by_label("Your message").input_value() == "One more about limits?"
    assert page.locator(".msg").count() == 20 and page.get_by_role("button", name="Send").is_enabled()
