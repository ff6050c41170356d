"""The web chat with two logged-in users (issue 21): a real server, users written by
`ct-assistant users add` (hashed), the Gradio client logged in as each. The outsider's answers
and document list hold nothing of the restricted document; the member's do. Uploads are
private to the uploader unless they pick one of their groups."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.errors import AuthFileError
from tests.conftest import CORPUS, free_port, missing, run_cli
from tests.security.conftest import ACCESS, GROUP, SECRET_ID, SPEC, leaks

PASSWORDS = {"alice": "kestrel-member-pw", "bob": "outsider-pw-2"}


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    from assistant.api import Assistant
    from assistant.config import Settings
    from tests.ui.conftest import start

    root = tmp_path_factory.mktemp("web")
    owner = Assistant(Settings(store=root / "store"), embedder)
    owner.ingest([CORPUS])
    owner.ingest([ACCESS], access=GROUP)
    owner.close()
    users = root / "users.txt"
    for name, groups in (("alice", GROUP), ("bob", "analysts")):
        r = run_cli("users", "add", name, "--groups", groups, "--auth-file", str(users), input=PASSWORDS[name] + "\n")
        assert r.returncode == 0, r.stderr
    settings = Settings(
        store=root / "store", port=free_port(), auth_file=users, allow_upload=True, audit_log=root / "audit.jsonl",
        feedback_db=root / "feedback.sqlite3",
    )
    a = Assistant(settings, embedder)
    s = start(settings, a)
    yield {"url": s.url, "users": users, "root": root, "served": s}
    s.app.close()
    a.close()


def _client(web: dict[str, Any], name: str) -> Any:
    from gradio_client import Client

    return Client(web["url"], auth=(name, PASSWORDS[name]), verbose=False)


def test_the_users_file_holds_hashes_not_passwords(web: dict[str, Any]) -> None:
    text = web["users"].read_text(encoding="utf-8")
    assert all(pw not in text for pw in PASSWORDS.values())
    assert text.count("$argon2id$") == 2
    r = run_cli("users", "list", "--auth-file", str(web["users"]), "--json")
    assert json.loads(r.stdout) == [{"name": "alice", "groups": [GROUP]}, {"name": "bob", "groups": ["analysts"]}]


def test_logins_are_checked_against_the_hashes(web: dict[str, Any]) -> None:
    from gradio_client import Client

    with pytest.raises(Exception):  # noqa: B017  (gradio_client raises a plain ValueError on a failed login)
        Client(web["url"], auth=("bob", PASSWORDS["alice"]), verbose=False)
    with pytest.raises(Exception):  # noqa: B017
        Client(web["url"], auth=("mallory", "x"), verbose=False)
    assert _client(web, "bob").predict(api_name="/documents")


def test_outsider_and_member_through_the_web(web: dict[str, Any]) -> None:
    bob, alice = _client(web, "bob"), _client(web, "alice")
    bob_docs = bob.predict(api_name="/documents")
    assert SECRET_ID not in {d["doc_id"] for d in bob_docs} and leaks([json.dumps(bob_docs)], []) == []
    assert SECRET_ID in {d["doc_id"] for d in alice.predict(api_name="/documents")}
    problems, missed = [], []
    for p in SPEC["probes"]:
        for q in p.get("turns") or [p["q"]]:
            doc_ids = p.get("doc_ids", [])
            try:
                d = bob.predict(q, doc_ids, None, api_name="/ask")
                out = json.dumps({k: v for k, v in d.items() if k != "question"}, ensure_ascii=False)
            except Exception as exc:  # noqa: BLE001  (gradio_client's AppError: an unknown id, shown as one line)
                out = str(exc)
            problems += leaks([out], [q, *doc_ids])
            if p.get("answer") and q == p.get("q"):
                got = alice.predict(q, [], None, api_name="/ask")
                if got["refused"] or not any(p["answer"] in c["quote"] for c in got["citations"]):
                    missed.append(q)
    assert problems == []
    assert missed == []
    # the member's filter on the restricted id, and her typo, are answered too
    for q, doc_ids in (("Who heads the Kestrel cell?", [SECRET_ID]), ("Who heads the Kestral cell?", [])):
        got = alice.predict(q, doc_ids, None, api_name="/ask")
        assert not got["refused"] and any("Tariq Nadeem" in c["quote"] for c in got["citations"]), (q, got["answer"])
    events = [json.loads(x) for x in (web["root"] / "audit.jsonl").read_text(encoding="utf-8").splitlines()]
    asked = [e for e in events if e["kind"] == "question"]
    assert {e["user"] for e in asked} == {"alice", "bob"}
    assert all(SECRET_ID not in e["cited"] for e in asked if e["user"] == "bob")
    assert any(SECRET_ID in e["cited"] for e in asked if e["user"] == "alice")
    assert all("answer" not in e for e in asked)  # no answer text unless audit_answers


def test_uploads_are_private_to_the_uploader(web: dict[str, Any], tmp_path: Path) -> None:
    """The real upload handler of the served app, called as each user (the request is the only stand-in)."""
    viewers = web["served"].app.ct_viewers
    on = viewers.handlers()
    note = tmp_path / "bob_note.txt"
    note.write_text("Bob's field note: the Larkana checkpoint was moved to the bypass road in 2025.\n", encoding="utf-8")

    class Request:
        def __init__(self, username: str) -> None:
            self.username = username

    status, _ = on["upload"]([str(note)], None, Request("bob"))
    bob, alice = _client(web, "bob"), _client(web, "alice")
    bob_docs = bob.predict(api_name="/documents")
    # the status counts what bob may read, never the store's whole count
    assert "Ingested 1 of 1" in status and f"you can read {len(bob_docs)} documents" in status, status
    bob_note = _id_of(web, "bob_note.txt")
    assert bob_note in {d["doc_id"] for d in bob_docs}
    assert bob_note not in {d["doc_id"] for d in alice.predict(api_name="/documents")}
    assert not bob.predict("Where was the Larkana checkpoint moved?", [], None, api_name="/ask")["refused"]
    assert alice.predict("Where was the Larkana checkpoint moved?", [], None, api_name="/ask")["refused"]
    shared = tmp_path / "shared_note.txt"
    shared.write_text("Alice's cell note: the Mastung safe house was closed in 2025.\n", encoding="utf-8")
    on["upload"]([str(shared)], GROUP, Request("alice"))  # a group she belongs to
    on["upload"]([str(note)], "legal", Request("bob"))  # not his group: stays private (already stored: unchanged)
    store = web["served"].assistant.store()
    assert store.catalog.access_of(_id_of(web, "shared_note.txt")) == [GROUP]
    assert store.catalog.access_of(bob_note) == ["user:bob"]
    events = [json.loads(x) for x in (web["root"] / "audit.jsonl").read_text(encoding="utf-8").splitlines()]
    assert any(e["kind"] == "upload" and e["user"] == "bob" and e["access"] == ["user:bob"] for e in events)


def _id_of(web: dict[str, Any], name: str) -> str:
    """The id the store gave the upload called `name` (read as the owner)."""
    store = web["served"].assistant.store()
    (found,) = [doc_id for source, doc_id in store.catalog.sources().items() if Path(source).name == name]
    return found


def test_an_uploads_id_and_status_tell_nothing_of_hidden_documents(web: dict[str, Any], tmp_path: Path) -> None:
    """bob uploads a file named like the hidden document's id and one named like nothing stored:
    both ids take the same form (name + hash of bob's own path), so neither says whether a hidden
    document holds that name; the status counts only what bob may read."""
    on = web["served"].app.ct_viewers.handlers()

    class Request:
        username = "bob"

    guess, fresh = tmp_path / f"{SECRET_ID}.txt", tmp_path / "no_such_name_anywhere.txt"
    guess.write_text("Bob's guess: a note about the weather in Sukkur in 2025.\n", encoding="utf-8")
    fresh.write_text("Bob's other note: a note about the weather in Hyderabad in 2025.\n", encoding="utf-8")
    status, _ = on["upload"]([str(guess), str(fresh)], None, Request())
    bob_docs = _client(web, "bob").predict(api_name="/documents")
    ids = {d["doc_id"] for d in bob_docs}
    guessed, unused = _id_of(web, guess.name), _id_of(web, fresh.name)
    assert guessed in ids and unused in ids and SECRET_ID not in ids
    assert guessed != SECRET_ID and guessed.startswith(SECRET_ID + "-") and unused.startswith("no_such_name_anywhere-")
    assert len(guessed) - len(SECRET_ID) == len(unused) - len("no_such_name_anywhere")  # the same form either way
    assert f"you can read {len(bob_docs)} documents" in status, status
    owner_count = len(web["served"].assistant.documents())
    assert owner_count > len(bob_docs)  # the store holds more than bob sees, and his status does not say so


def test_plain_text_lines_are_refused_with_the_command_to_convert(tmp_path: Path) -> None:
    from assistant.config import Settings
    from assistant.ui.guard import load_auth

    f = tmp_path / "users.txt"
    f.write_text("alice:s3cret\n", encoding="utf-8")
    with pytest.raises(AuthFileError, match=r"line 1: a plain-text password for 'alice'; store it hashed with `ct-assistant users add alice"):
        load_auth(Settings(store=tmp_path, auth_file=f))
    r = run_cli("serve", "--store", str(tmp_path), "--auth-file", str(f))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "ct-assistant users add alice" in r.stderr
    assert "s3cret" not in r.stderr


TIMEOUT_MS = 120_000


def _login(browser: Any, url: str, name: str) -> tuple[Any, Any]:
    ctx = browser.new_context(viewport={"width": 1360, "height": 980})
    page = ctx.new_page()
    page.goto(url)
    page.locator("input[type=text]").first.fill(name)
    page.locator("input[type=password]").fill(PASSWORDS[name])
    page.get_by_role("button", name="Login").click()
    page.locator("#ct-question textarea").wait_for(timeout=TIMEOUT_MS)
    return ctx, page


def _send(page: Any, question: str) -> None:
    from playwright.sync_api import expect

    bots = page.locator("#ct-chat [data-testid='bot']")
    before = bots.count()
    page.locator("#ct-question textarea").fill(question)
    page.locator("#ct-send").click()
    expect(bots).to_have_count(before + 1, timeout=TIMEOUT_MS)
    expect(bots.nth(before).locator("details.ct-about")).to_have_count(1, timeout=TIMEOUT_MS)


def _filter_options(page: Any) -> str:
    """The document filter's choices as this user's page lists them (filled when the page loaded)."""
    from playwright.sync_api import expect

    options = page.locator("#ct-filter [role='listbox']")
    page.locator("#ct-filter input").click()
    expect(options).to_contain_text("NIFTAC", timeout=TIMEOUT_MS)  # every user may read the public corpus
    text = options.inner_text()
    page.locator("#ct-title").click()  # closes the list
    options.wait_for(state="hidden", timeout=TIMEOUT_MS)
    return text


@pytest.mark.browser
@pytest.mark.slow
def test_two_users_in_the_browser(web: dict[str, Any], tmp_path: Path) -> None:
    """bob (outside the group) and alice (a member) logged in at once: bob's conversation,
    follow-ups, document filter, passages, page config and upload hold nothing of the restricted
    document; alice gets the answers and never sees bob's private upload."""
    import os

    from playwright.sync_api import expect, sync_playwright

    from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS

    if not os.path.exists(CHROMIUM):
        missing(f"{CHROMIUM} not installed")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        (bob_ctx, bob), (alice_ctx, alice) = _login(browser, web["url"], "bob"), _login(browser, web["url"], "alice")
        try:
            turns = ["What is NIFTAC?", "Who heads the Kestrel cell?", "How much money did it receive?", "Where is its safe house?"]
            for q in turns:
                _send(bob, q)
            bob.locator("#ct-chat [data-testid='bot']").first.locator("a[href^='#cite-']").first.click()
            expect(bob.locator("#ct-passage mark.ct-hl").first).to_be_visible(timeout=TIMEOUT_MS)
            seen = [bob.content(), _filter_options(bob), bob.request.get(web["url"] + "config").text()]
            assert leaks(seen, turns) == []
            assert "NIFTAC" in seen[1]  # the filter lists bob's documents

            _send(alice, "Who heads the Kestrel cell?")
            expect(alice.locator("#ct-chat [data-testid='bot']").last).to_contain_text("Tariq Nadeem")
            _send(alice, "How much money did it receive?")
            expect(alice.locator("#ct-chat [data-testid='bot']").last).to_contain_text("84.3")
            assert "Operation Kestrel" in _filter_options(alice)

            note = tmp_path / "bob_browser_note.txt"
            note.write_text("Bob's browser note: the Jacobabad patrol doubled its night shifts in 2025.\n", encoding="utf-8")
            bob.get_by_text("Add documents").click()
            bob.locator("#ct-upload input[type=file]").set_input_files(str(note))
            bob.locator("#ct-ingest").click()
            expect(bob.locator("#ct-upload-status")).to_contain_text("Ingested 1 of 1", timeout=TIMEOUT_MS)
            store = web["served"].assistant.store()
            browser_note = _id_of(web, note.name)
            assert store.catalog.access_of(browser_note) == ["user:bob"]
            _send(alice, "How many night shifts did the Jacobabad patrol add?")
            assert "Jacobabad patrol doubled" not in alice.locator("#ct-chat").inner_text()
            assert browser_note not in _filter_options(alice)
        finally:
            bob_ctx.close()
            alice_ctx.close()
            browser.close()
