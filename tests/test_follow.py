"""Following, the library and the staff side: who is told of which change, in which form; quiet hours; retention;
announcements with confirmation; `--quiet`. The Telegram side is in test_follow_telegram.py."""

from __future__ import annotations

import json
import os
import stat
from datetime import date, datetime, timezone

import pytest
from click.testing import CliRunner

from knowledge import follows, staff, store
from knowledge.cli import cli
from knowledge.follows import Subject

ROAD = Subject("entity", "金沙路")
OTHER_ROAD = Subject("entity", "粤信路")
ROADS = Subject("topic", "roads")


@pytest.fixture
def env(kb_path, tmp_path, monkeypatch):
    """A private knowledge base and follows store, found by the kb CLI through the environment."""
    path = tmp_path / "follows.db"
    monkeypatch.setenv("WESTBOT_KB", str(kb_path))
    monkeypatch.setenv("WESTBOT_FOLLOWS", str(path))
    monkeypatch.setenv("WESTBOT_TRACKERS", str(tmp_path / "trackers.db"))
    monkeypatch.setenv("WESTBOT_QUESTIONS", str(tmp_path / "questions.db"))
    db = follows.open_follows(path)
    yield kb_path, db
    db.conn.close()


def outbox(db, chat_id=None):
    rows = db.execute("SELECT chat_id, ref, kind, body, status FROM outbox ORDER BY id").fetchall()
    return [
        dict(zip(["chat_id", "ref", "kind", "body", "status"], r)) for r in rows if chat_id is None or r[0] == chat_id
    ]


def kb_cli(*args, input=None):
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    return result


def passage_about(kb_path, name: str) -> int:
    db = store.open_read_only(kb_path)
    for pid, entities in db.execute("SELECT id, entities FROM passages WHERE status = 'active'"):
        if name in json.loads(entities):
            return pid
    raise AssertionError(name)


def test_the_store_is_private_and_keeps_only_chat_ids_and_subjects(env, tmp_path):
    _, db = env
    assert follows.follow(db, 1001, ROAD)
    assert not follows.follow(db, 1001, ROAD)  # twice is once
    assert stat.S_IMODE(os.stat(tmp_path / "follows.db").st_mode) == 0o600
    assert db["follows"].columns_dict.keys() == {"chat_id", "kind", "subject", "elder", "voice_lang", "since"}
    assert follows.following(db, 1001) == [ROAD]
    with pytest.raises(ValueError):
        follows.follow(db, 1001, Subject("topic", "weather"))


def test_a_staff_edit_reaches_only_the_followers_of_that_road(env):
    kb_path, db = env
    follows.follow(db, 1, ROAD)
    follows.follow(db, 2, OTHER_ROAD)
    follows.follow(db, 3, Subject("topic", "employment"))
    follows.follow(db, 4, ROAD, elder=True)
    added = kb_cli("add", "--topic", "roads", "--entity", "金沙路", "--text", "金沙路提升改造工程正在施工。", "--quiet")
    pid = int(added.output.split("added passage ")[1].split(";")[0])
    result = kb_cli("edit", str(pid), "--text", "金沙路提升改造工程已于2026年11月完工，全线通车。", "--by", "李明")
    assert result.exit_code == 0, result.output
    assert "followers will be told" in result.output
    sent = outbox(db)
    assert {r["chat_id"] for r in sent} == {1, 4}
    standard = next(r for r in sent if r["chat_id"] == 1)
    assert standard["body"].startswith("您关注的「金沙路」的信息有更新：")
    assert "全线通车" in standard["body"] and "\n来源：《" in standard["body"]
    assert "取消关注金沙路" in standard["body"]
    elder = [r for r in sent if r["chat_id"] == 4]
    assert [r["kind"] for r in elder] == ["text", "voice"]  # the short form, then the voice
    assert len(elder[0]["body"]) < len(standard["body"]) and "来源：" in elder[0]["body"]
    assert "来源" not in elder[1]["body"] and "金沙路" in elder[1]["body"]


def test_quiet_changes_tell_nobody_and_headings_are_not_news(env):
    kb_path, db = env
    follows.follow(db, 1, ROAD)
    pid = passage_about(kb_path, "金沙路")
    assert kb_cli("edit", str(pid), "--text", "金沙路提升改造，粤信路同步推进。", "--quiet").exit_code == 0
    assert kb_cli("edit", str(pid), "--heading", "金沙路").exit_code == 0
    assert outbox(db) == []


def test_add_retire_and_undo_are_told_once_each(env):
    kb_path, db = env
    follows.follow(db, 1, ROADS)
    result = kb_cli("add", "--topic", "roads", "--entity", "金沙路", "--text", "金沙路12月1日起夜间施工。")
    pid = int(result.output.split("added passage ")[1].split(";")[0])
    result = kb_cli("retire", str(pid))
    assert result.exit_code == 0
    bodies = [r["body"] for r in outbox(db, 1)]
    assert bodies[0].startswith("您关注的「道路与交通建设」有新消息：") and "夜间施工" in bodies[0]
    assert "该条信息已不再适用。" in bodies[1] and "来源：" in bodies[1]
    assert len(bodies) == 2
    # telling the same change again queues nothing
    kb = store.open_for_writing(kb_path)
    assert follows.notify_change(kb, db, follows.latest_change(kb, "passages", pid)) == 0


def test_a_passage_for_a_later_date_is_told_on_that_date(env):
    kb_path, db = env
    follows.follow(db, 1, ROAD)
    kb = store.open_for_writing(kb_path)
    pid = staff.add_passage(
        kb,
        topic="roads",
        entities=["金沙路"],
        text="金沙路2031年5月1日起封闭施工一个月。",
        valid_from="2031-05-01",
        valid_to="2031-05-31",
        by="t",
    )
    assert follows.notify_change(kb, db, follows.latest_change(kb, "passages", pid)) == 0
    assert follows.notify_dated(kb, db, date(2031, 4, 30)) == 0
    assert follows.notify_dated(kb, db, date(2031, 5, 1)) == 1
    assert follows.notify_dated(kb, db, date(2031, 5, 2)) == 0  # once
    assert follows.notify_dated(kb, db, date(2031, 6, 1)) == 1  # expired after its last day
    bodies = [r["body"] for r in outbox(db, 1)]
    assert "今天起适用" in bodies[0] and "封闭施工" in bodies[0]
    assert "该条信息已不再适用。" in bodies[1]


@pytest.mark.parametrize("hour,held", [(21, False), (22, True), (3, True), (7, True), (8, False), (12, False)])
def test_quiet_hours_are_local_time(hour, held):
    quiet = follows.QuietHours.parse("22:00-08:00", "Asia/Shanghai")
    local = datetime(2026, 11, 27, hour, 30, tzinfo=quiet.zone)
    assert quiet.holds(local.astimezone(timezone.utc)) is held


def test_announcement_shows_a_preview_and_the_count_and_waits_for_yes(env):
    kb_path, db = env
    for chat in (1, 2, 3):
        follows.follow(db, chat, ROADS)
    follows.follow(db, 4, Subject("topic", "elderly"))
    result = kb_cli(
        "announce", "--topic", "roads", "--text", "本周六金沙路停水停电，请提前准备。", "--by", "李明", input="n\n"
    )
    assert "preview:" in result.output and "本周六金沙路停水停电" in result.output
    assert "recipients: 3" in result.output and "not sent" in result.output
    assert outbox(db) == []
    result = kb_cli(
        "announce", "--topic", "roads", "--text", "本周六金沙路停水停电，请提前准备。", "--by", "李明", input="y\n"
    )
    assert "queued for 3 followers" in result.output, result.output
    assert {r["chat_id"] for r in outbox(db)} == {1, 2, 3}
    history = kb_cli("history", "announcement:1").output
    assert "李明 announce" in history and "停水停电" in history


def test_announce_needs_one_subject(env):
    result = CliRunner().invoke(cli, ["announce", "--text", "x"])
    assert result.exit_code != 0 and "exactly one" in result.output


def test_retention_keeps_active_follows_and_unfollowing_deletes(env):
    _, db = env
    follows.follow(db, 1, ROAD)
    follows.follow(db, 2, ROAD)
    old = "2020-01-01T00:00:00+00:00"
    db["outbox"].insert_all(
        [
            {
                "chat_id": 1,
                "ref": "change:1",
                "seq": 0,
                "kind": "text",
                "subject": ROAD.key,
                "body": "旧消息",
                "status": "sent",
                "queued_at": old,
            },
            {
                "chat_id": 9,
                "ref": "change:1",
                "seq": 0,
                "kind": "text",
                "subject": ROAD.key,
                "body": "旧消息",
                "status": "queued",
                "queued_at": old,
            },
        ]
    )
    result = kb_cli("forget")
    assert result.exit_code == 0 and "2 sent follow messages" in result.output
    assert follows.following(db, 1) == [ROAD] and follows.following(db, 2) == [ROAD]
    assert follows.unfollow(db, 2, ROAD)
    assert db.execute("SELECT count(*) FROM follows WHERE chat_id = 2").fetchone()[0] == 0


def test_unfollowing_drops_what_was_still_queued_for_it(env):
    kb_path, db = env
    follows.follow(db, 1, ROAD)
    pid = passage_about(kb_path, "金沙路")
    kb_cli("edit", str(pid), "--text", "金沙路提升改造即将开工。")
    assert len(outbox(db, 1)) == 1
    follows.unfollow(db, 1, ROAD)
    assert outbox(db, 1) == []


def test_the_queue_offers_one_message_per_chat_text_before_voice(env):
    kb_path, db = env
    follows.follow(db, 1, ROAD, elder=True)
    follows.follow(db, 2, ROAD)
    pid = passage_about(kb_path, "金沙路")
    kb_cli("edit", str(pid), "--text", "金沙路提升改造即将开工。")
    first = follows.queued(db, 10)
    assert [(r["chat_id"], r["kind"]) for r in first] == [(1, "text"), (2, "text")]
    assert follows.claim(db, first[0]["id"]) and not follows.claim(db, first[0]["id"])
    follows.mark(db, first[0]["id"], "sent")
    assert [(r["chat_id"], r["kind"]) for r in follows.queued(db, 10, skip_chats=[2])] == [(1, "voice")]
    follows.claim(db, first[1]["id"])
    assert follows.recover_interrupted(db) == 1  # a crash mid-send: not sent again
    assert follows.counts(db) == {"sent": 1, "uncertain": 1, "queued": 1}
