"""Elder mode rules, checked on every passage of the knowledge base."""
import re

import pytest

from actions import elder, replies
from knowledge.search import Hit

CONTACTS = [{"topic": "*", "name": "政务服务热线", "phone": "12345", "hours": "24小时", "address": ""}]


def passages(kb):
    return kb.snapshot().passages


def sentences(text):
    return [s for s in re.split(r"[。！？!?；;\n]", text) if s.strip()]


def test_every_passage_follows_the_elder_rules(kb):
    for p in passages(kb):
        standard = replies.standard_answer([Hit(p, 1.0, 1.0)], CONTACTS)
        key_terms = p["entities"][:2]
        reply = elder.simplify_for_elders(p, key_terms, len(standard), CONTACTS)
        shown = elder.reply_length(reply)
        assert shown <= 0.6 * len(standard), (p["id"], shown, len(standard))
        assert max(len(s) for s in sentences(reply)) <= 30, (p["id"], reply)
        assert reply.endswith(elder.short_source_line(p))
        # Names and numbers are kept exactly: every piece of the reply is taken from the passage's own words.
        body = reply.split("\n")[:-2]
        assert body, p["id"]
        for line in body:
            words = line.rstrip("。")
            verb = elder._LEADING_VERB.match(words)
            rest = words[len(verb.group(1)):] if verb else words
            for piece in rest.split("、"):
                assert piece in p["text"], (p["id"], piece)
        for number in re.findall(r"\d+(?:\.\d+)?%?", reply.split("\n想问清楚")[0]):
            assert number in p["text"]


def test_the_key_fact_comes_first(kb):
    roads = next(p for p in passages(kb) if "翠湾路" in p["text"])
    standard = replies.standard_answer([Hit(roads, 1.0, 1.0)], CONTACTS)
    reply = elder.simplify_for_elders(roads, ["翠湾路"], len(standard), CONTACTS)
    assert reply.split("\n")[0].startswith("积极推动翠湾路")


def test_a_staff_plain_version_is_preferred(kb):
    meal = dict(next(p for p in passages(kb) if "助餐" in p["text"]))
    meal["plain"] = "社区有长者饭堂。老人可以去吃午饭。"
    standard = replies.standard_answer([Hit(meal, 1.0, 1.0)], CONTACTS)
    reply = elder.simplify_for_elders(meal, ["助餐"], len(standard), CONTACTS)
    assert reply.startswith("社区有长者饭堂。")


@pytest.mark.parametrize("clause,keys,expected", [
    ("加强居家养老站点建设、上门康复业务、长者助餐配餐服务等工作，", ["助餐"], None),
    ("提升改造金沙路、粤信路、沙朗市场侧道路、沙朗商业中心侧道路、金业路", ["金业路"], ["提升改造金业路"]),
])
def test_wrap_keeps_the_verb_with_the_item_asked_about(clause, keys, expected):
    pieces = elder.wrap(clause.rstrip("，"), keys)
    assert all(len(p) <= 29 for p in pieces)
    if expected:
        assert pieces == expected
