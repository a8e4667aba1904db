"""Through the real bot (Rasa + action server on free ports): what residents type stays private, and bad input
through Rasa's REST channel gets a polite reply or a clear refusal, never a crash or a stored command."""

from __future__ import annotations

import http.client
import json
import os
import stat
import subprocess
import urllib.error
import urllib.request

import pytest

from devtools.servers import running_bot

pytestmark = pytest.mark.slow

PRIVATE = "我电话+86 139-1234-5678，身份证440102199001011234"
SECRETS = [b"13912345678", b"139-1234-5678", b"1234-5678", b"139 1234", b"19900101", b"440102199001011234", b"01011234"]


@pytest.fixture(scope="module")
def bot(built_kb, tmp_path_factory):
    # Debug logging: Rasa then logs each message it receives, as an operator chasing a fault would see it.
    with running_bot(built_kb, tmp_path_factory.mktemp("private"), env={"LOG_LEVEL": "DEBUG"}) as servers:
        yield servers


def text(messages):
    return "\n".join(m.get("text") or "" for m in messages)


def post(bot, body: bytes) -> tuple[int, bytes]:
    request = urllib.request.Request(
        f"{bot.url}/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def tracker(bot, sender: str) -> dict:
    url = f"{bot.url}/conversations/{sender}/tracker?token={bot.api_token}"
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def stored_bytes(bot) -> bytes:
    """Every byte of the tracker store and the question log, their WAL files included."""
    names = ("trackers.db", "trackers.db-wal", "questions.db", "questions.db-wal")
    return b"".join((bot.workdir / n).read_bytes() for n in names if (bot.workdir / n).exists())


def test_phone_and_id_numbers_are_stored_in_neither_database(bot):
    reply = bot.say("e2e-private", PRIVATE)
    assert text(reply).strip()
    # The same numbers in a question the bot declines: it is kept for staff in the question log.
    assert "12345" in text(bot.say("e2e-private", "广州塔门票多少钱？" + PRIVATE))
    stored = stored_bytes(bot)
    assert b"139****5678" in stored  # the message was stored, masked
    for secret in SECRETS:
        assert secret not in stored, secret
    # The question log holds it masked under a keyed pseudonym.
    import sqlite3

    questions = sqlite3.connect(bot.workdir / "questions.db")
    rows = questions.execute("SELECT sender, text FROM questions UNION ALL SELECT sender, question FROM feedback")
    logged = [(s, t) for s, t in rows if "5678" in (t or "")]
    assert logged
    assert all(t.endswith("我电话139****5678，身份证440102********1234") and "e2e" not in s for s, t in logged)
    assert stat.S_IMODE(os.stat(bot.workdir / "pseudonym.key").st_mode) == 0o600


def test_phone_and_id_numbers_are_in_no_log_line_of_rasa_or_the_action_server(bot):
    bot.say("e2e-private-log", PRIVATE)
    bot.say("e2e-private-log", "广州塔门票多少钱？" + PRIVATE)
    logs = (bot.workdir / "rasa.log").read_bytes() + (bot.workdir / "actions.log").read_bytes()
    assert b"139****5678" in logs  # Rasa's debug log quotes the message, masked
    for secret in SECRETS:
        assert secret not in logs, secret


def test_the_api_token_is_on_no_command_line(bot):
    token = bot.api_token.encode()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmdline = open(f"/proc/{pid}/cmdline", "rb").read()
            except OSError:
                continue
            assert token not in cmdline, pid
    listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert bot.api_token not in listing
    assert tracker(bot, "nobody")  # and the API still takes the token from the file


@pytest.mark.parametrize(
    "typed",
    [
        "/restart",
        "/session_start",
        "/back",
        '/ask_roads{"road": "金沙路"}',
        '/greet{"elder_mode": false}',
        " /restart",
        "／restart",
    ],
)
def test_command_syntax_typed_by_a_resident_is_read_as_text(bot, typed):
    sender = f"e2e-slash-{abs(hash(typed))}"
    assert "长者模式" in text(bot.say(sender, "长者模式"))
    before = [e["event"] for e in tracker(bot, sender)["events"]]
    reply = bot.say(sender, typed)
    assert text(reply).strip() and "系统正在维护" not in text(reply)
    after = tracker(bot, sender)
    new = after["events"][len(before) :]
    assert not [e for e in new if e["event"] in ("restart", "session_started")]
    assert after["slots"]["elder_mode"] is True  # nothing was wiped or switched by the typed command
    [user] = [e for e in new if e["event"] == "user"]
    assert user["text"].lstrip().startswith("／")
    assert user["parse_data"]["intent"]["name"] not in ("restart", "session_start", "back", "elder_mode_off")


def test_our_own_button_payloads_still_work(bot):
    bot.say("e2e-buttons", "金沙路什么时候修好")
    again = bot.say("e2e-buttons", "/repeat")
    assert "金沙路" in text(again)


@pytest.mark.parametrize(
    "body",
    [
        b"[1, 2]",
        b'"x"',
        b"3",
        b"null",
        b'{"sender": "a", "message": 5}',
        b'{"sender": ["a"], "message": "hi"}',
        b"{not json",
    ],
)
def test_a_body_that_is_not_a_message_gets_a_400(bot, body):
    status, answer = post(bot, body)
    assert status == 400, answer


def test_a_lone_surrogate_gets_an_answer_not_the_maintenance_page(bot):
    status, answer = post(bot, b'{"sender": "e2e-surrogate", "message": "\\ud800\\u91d1\\u6c99\\u8def\\udfff"}')
    assert status == 200
    messages = json.loads(answer)
    assert messages and "金沙路" in text(messages)


def test_a_huge_body_is_refused_before_it_is_stored(bot):
    connection = http.client.HTTPConnection("127.0.0.1", bot.rasa_port, timeout=30)
    connection.putrequest("POST", "/webhooks/rest/webhook")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(10 * 1024 * 1024))
    connection.endheaders()
    connection.send(json.dumps({"sender": "e2e-huge", "message": "路" * 1000}).encode())
    assert connection.getresponse().status == 413  # refused on its announced size, before the body is read
    connection.close()
    assert tracker(bot, "e2e-huge")["events"] in ([], None) or len(json.dumps(tracker(bot, "e2e-huge"))) < 10_000
    assert "路" in text(bot.say("e2e-huge-after", "金沙路"))  # and the bot goes on answering
