"""Personal numbers are masked before anything is stored; senders are HMAC pseudonyms; private files are 0600."""

from __future__ import annotations

import io
import json
import logging
import os
import sqlite3
import stat
import sys
import threading

import pytest

from knowledge import privacy
from knowledge.questions import QuestionLog


@pytest.mark.parametrize(
    "typed,stored",
    [
        ("电话13912345678", "电话139****5678"),
        ("我电话+86 139-1234-5678", "我电话139****5678"),
        ("+8613912345678", "139****5678"),
        ("0086 139 1234 5678", "139****5678"),
        ("打139 1234 5678找我", "打139****5678找我"),
        ("139-1234-5678", "139****5678"),
        ("电话１３９１２３４５６７８", "电话139****5678"),  # full-width digits
        ("＋８６ １３９－１２３４－５６７８", "139****5678"),
        ("座机0760-88881234", "座机0760****1234"),
        ("(0760)88881234", "0760****1234"),
        ("身份证440102199001011234", "身份证440102********1234"),
        ("身份证44010219900101123X", "身份证440102********123X"),
        ("身份证 440102 19900101 1234", "身份证 440102********1234"),
        ("4401 0219 9001 0112 34", "440102********1234"),
        ("身份证４４０１０２１９９００１０１１２３４", "身份证440102********1234"),
        ("老身份证440102900101123", "老身份证440102******123"),
        ("卡号6222021234567890123", "卡号6222***********0123"),
        ("卡号 6222 0212 3456 7890", "卡号 6222********7890"),
        ("卡号6222-0212-3456-7890", "卡号6222********7890"),
        ("邮箱 zhang.san@example.com 谢谢", "邮箱 ***@*** 谢谢"),
        ("邮箱ｚｈａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ", "邮箱***@***"),
    ],
)
def test_each_form_of_personal_number_is_masked(typed, stored):
    assert privacy.mask_personal_data(typed) == stored


@pytest.mark.parametrize(
    "text",
    [
        "金沙路什么时候修好",
        "2020年工作计划",
        "12345政务服务热线",
        "第3条第15款",
        "时间1701234567.123",
        "2026年10月1日通车",
        "0760",
    ],
)
def test_ordinary_numbers_are_left_alone(text):
    assert privacy.mask_personal_data(text) == text


def test_the_issue_message_keeps_none_of_its_numbers():
    masked = privacy.mask_personal_data("我电话+86 139-1234-5678，身份证440102199001011234")
    digits = "".join(ch for ch in masked if ch.isdigit())
    assert "1234567" not in digits and "19900101" not in masked and "1234-5678" not in masked
    assert masked == "我电话139****5678，身份证440102********1234"


@pytest.mark.parametrize("rule", privacy.rules(), ids=lambda r: r.name)
def test_every_rule_in_the_data_file_has_examples_that_hold(rule):
    assert rule.examples, f"rule {rule.name} needs an example in privacy.yml"
    for typed, stored in rule.examples:
        assert privacy.mask_personal_data(typed) == stored


def test_rules_are_data_a_new_file_changes_what_is_masked(tmp_path):
    rules_file = tmp_path / "rules.yml"
    rules_file.write_text("rules:\n  - name: qq\n    pattern: 'QQ\\d{5,11}'\n    mask_as: 'QQ***'\n", encoding="utf-8")
    [rule] = privacy.load_rules(rules_file)
    assert rule.pattern.sub(rule.replace, "加我QQ123456789") == "加我QQ***"


def test_events_are_masked_in_every_string_but_machine_fields():
    event = {
        "event": "user",
        "timestamp": 1764246123.12345678,
        "text": "电话13912345678",
        "parse_data": {
            "text": "电话13912345678",
            "intent": {"name": "ask_contact", "confidence": 0.9},
            "entities": [{"entity": "x", "value": "13912345678", "start": 2, "end": 13}],
        },
        "message_id": "a13912345678b0123456789012345678",
        "metadata": {"note": ["440102199001011234"]},
    }
    masked = privacy.mask_in(event)
    assert masked["text"] == masked["parse_data"]["text"] == "电话139****5678"
    assert masked["parse_data"]["entities"][0]["value"] == "139****5678"
    assert masked["metadata"]["note"] == ["440102********1234"]
    assert masked["timestamp"] == event["timestamp"] and masked["message_id"] == event["message_id"]
    assert event["text"] == "电话13912345678"  # the caller's event is not changed


def test_pseudonyms_are_keyed_so_ids_cannot_be_tried(tmp_path):
    secret = privacy.read_or_create_secret(tmp_path / "var" / "pseudonym.key")
    assert stat.S_IMODE(os.stat(tmp_path / "var" / "pseudonym.key").st_mode) == 0o600
    assert privacy.read_or_create_secret(tmp_path / "var" / "pseudonym.key") == secret  # kept
    name = privacy.pseudonym("telegram-12345", secret)
    assert name == privacy.pseudonym("telegram-12345", secret)
    assert name != privacy.pseudonym("telegram-12346", secret)
    assert name != privacy.pseudonym("telegram-12345", b"another secret")
    import hashlib

    assert name[:12] != hashlib.sha256(b"telegram-12345").hexdigest()[:12]  # not the old, unkeyed one


def test_question_log_masks_pseudonymizes_and_keeps_its_files_private(tmp_path):
    log = QuestionLog(tmp_path / "questions.db")
    assert log.record(
        "telegram-42", "我电话+86 139-1234-5678，身份证440102199001011234", "ask_plan", 0.3, "declined", 0.1
    )
    assert log.record_feedback("telegram-42", 3, False, "卡号6222021234567890123")
    db = sqlite3.connect(tmp_path / "questions.db")
    text, sender = db.execute("SELECT text, sender FROM questions").fetchone()
    (question,) = db.execute("SELECT question FROM feedback").fetchone()
    assert text == "我电话139****5678，身份证440102********1234" and question == "卡号6222***********0123"
    assert "telegram" not in sender and len(sender) == 16 and sender == log.pseudonym("telegram-42")
    for name in ("questions.db", "pseudonym.key"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600, name
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert b"13912345678" not in raw and b"19900101" not in raw and b"1234-5678" not in raw


def test_question_log_waits_for_a_writer_holding_the_lock(tmp_path):
    path = tmp_path / "questions.db"
    log = QuestionLog(path)
    assert log.record("a", "第一个问题", None, None, "declined", None)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer (a backup, `kb forget`) holds the lock
    done = threading.Event()
    result = []
    thread = threading.Thread(
        target=lambda: (result.append(log.record("b", "第二个问题", None, None, "declined", None)), done.set())
    )
    thread.start()
    assert not done.wait(0.3)  # waiting, not failed at once
    other.execute("COMMIT")
    thread.join(30)
    assert result == [True]
    assert other.execute("SELECT count(*) FROM questions").fetchone()[0] == 2


def test_question_log_gives_up_politely_when_the_lock_is_never_freed(tmp_path, monkeypatch, caplog):
    import knowledge.questions as questions

    monkeypatch.setattr(questions, "LOCK_WAIT_MS", 50)
    path = tmp_path / "questions.db"
    log = QuestionLog(path)
    assert log.record("a", "第一个问题", None, None, "declined", None)
    other = sqlite3.connect(path, isolation_level=None)
    log._db = None  # reopen with the short wait
    other.execute("BEGIN IMMEDIATE")
    try:
        assert log.record("b", "第二个问题", None, None, "declined", None) is False
    finally:
        other.execute("ROLLBACK")
    assert "still locked" in caplog.text
    assert log.record("b", "第二个问题", None, None, "declined", None) is True


def test_private_dir_and_file(tmp_path):
    folder = privacy.private_dir(tmp_path / "var")
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    path = privacy.private_file(folder / "x.db")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


# ---------------------------------------------------------------- log records

ISSUE_MESSAGE = "我电话+86 139-1234-5678，身份证440102199001011234"
ISSUE_DIGITS = ["139-1234-5678", "13912345678", "1234-5678", "440102199001011234", "19900101"]


@pytest.fixture
def masked_logs():
    before = logging.getLogRecordFactory()
    privacy.mask_logs()
    privacy.mask_logs()  # twice: installed once
    yield
    logging.setLogRecordFactory(before)


def emitted(logger_name: str, log) -> str:
    """What a handler of `logger_name` writes when `log(logger)` runs."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        log(logger)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def failing(text: str):
    try:
        raise ValueError(f"could not read {text!r}")
    except ValueError:
        return sys.exc_info()


@pytest.mark.parametrize(
    "logger_name, log",
    [
        ("rasa.core.processor", lambda log: log.debug("Received user message '%s'", ISSUE_MESSAGE)),
        ("rasa_sdk.executor", lambda log: log.error(f"action failed for {ISSUE_MESSAGE}")),
        ("bot.telegram.handlers", lambda log: log.warning("%(text)s", {"text": ISSUE_MESSAGE})),
        ("bot.web.server", lambda log: log.info("body %r from %s", {"message": ISSUE_MESSAGE}, "127.0.0.1")),
        ("aiohttp.server", lambda log: log.error("Error handling request", exc_info=failing(ISSUE_MESSAGE))),
        ("structlog", lambda log: log.debug(json.dumps({"event": "processor.message", "text": ISSUE_MESSAGE}))),
    ],
)
def test_log_records_never_show_personal_numbers(masked_logs, logger_name, log):
    line = emitted(logger_name, log)
    assert "139****5678" in line or "139****5678" in line.encode().decode("unicode_escape")
    for digits in ISSUE_DIGITS:
        assert digits not in line, (digits, line)


def test_log_records_without_personal_numbers_keep_their_arguments(masked_logs):
    record = logging.getLogger("rasa").makeRecord("rasa", logging.INFO, __file__, 1, "port %d, %s", (5005, "好"), None)
    assert record.args == (5005, "好") and record.getMessage() == "port 5005, 好"


def test_without_the_masking_a_log_line_would_show_them():
    # With the plain record factory, whatever an earlier test in this process installed (the answer action
    # installs the masking when it is created, as the action server does).
    before = logging.getLogRecordFactory()
    logging.setLogRecordFactory(logging.LogRecord)
    try:
        line = emitted("rasa.core.processor", lambda log: log.debug("Received user message '%s'", ISSUE_MESSAGE))
    finally:
        logging.setLogRecordFactory(before)
    assert "139-1234-5678" in line
