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
    glossary = kb.glossary()
    assert "白改黑" in glossary
    for p in passages(kb):
        standard = replies.standard_answer([Hit(p, 1.0, 1.0)], CONTACTS)
        key_terms = p["entities"][:2]
        reply = elder.simplify_for_elders(p, key_terms, len(standard), CONTACTS, glossary)
        shown = elder.reply_length(reply)
        assert shown <= elder.MAX_RATIO * len(standard), (p["id"], shown, len(standard))
        assert max(len(s) for s in sentences(reply)) <= 30, (p["id"], reply)
        assert reply.endswith(elder.short_source_line(p))
        # Every glossary term used is explained on its own line.
        body = [line for line in reply.split("\n")[:-2] if not _is_explanation(line, glossary)]
        shown_terms = {t for t in glossary if any(t in elder._plain(line) for line in body)}
        explained = {line.split("：")[0] for line in reply.split("\n") if _is_explanation(line, glossary)}
        covered = {t for t in shown_terms if any(t in e for e in explained)}
        assert covered == shown_terms, (p["id"], shown_terms - covered, reply)
        # Names and numbers are kept exactly: every piece of the reply is taken from the passage's own words.
        assert body, p["id"]
        for line in body:
            words = line.rstrip("。")
            verb = elder._LEADING_VERB.match(words)
            rest = words[len(verb.group(1)) :] if verb else words
            for piece in rest.split("、"):
                assert piece in p["text"], (p["id"], piece)
        for number in re.findall(r"\d+(?:\.\d+)?%?", "\n".join(body)):
            assert number in p["text"]


def _is_explanation(line, glossary):
    term = line.split("：")[0]
    return term in glossary and line == f"{term}：{glossary[term].rstrip('。')}。"


def test_jargon_is_explained(kb):
    roads = next(p for p in passages(kb) if "白改黑" in p["text"])
    standard = replies.standard_answer([Hit(roads, 1.0, 1.0)], CONTACTS)
    reply = elder.simplify_for_elders(roads, ["白改黑"], len(standard), CONTACTS, kb.glossary())
    lines = reply.split("\n")
    assert "白改黑" in lines[0]
    assert lines[1] == "白改黑：把水泥路面改铺成沥青路面。"


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


@pytest.mark.parametrize(
    "clause,keys,expected",
    [
        ("加强居家养老站点建设、上门康复业务、长者助餐配餐服务等工作，", ["助餐"], None),
        ("提升改造金沙路、粤信路、沙朗市场侧道路、沙朗商业中心侧道路、金业路", ["金业路"], ["提升改造金业路"]),
    ],
)
def test_wrap_keeps_the_verb_with_the_item_asked_about(clause, keys, expected):
    pieces = elder.wrap(clause.rstrip("，"), keys)
    assert all(len(p) <= 29 for p in pieces)
    if expected:
        assert pieces == expected


@pytest.mark.parametrize("keys", [[], ["最低生活保障"]])
def test_levels_of_government_are_one_item_of_a_list(keys):
    """市、区最低生活保障 is not 市 and 区最低生活保障: cut there, an elder read 全面落实市。 (a tryout)."""
    clause = "全面落实市、区最低生活保障、医疗救助、临时困难救助等政策"
    assert elder.wrap(clause, keys, limit=len(clause) - 1) == ["全面落实市、区最低生活保障"]
    assert elder.wrap(clause, ["医疗救助"], limit=len(clause) - 1) == ["全面落实医疗救助"]


def test_a_long_list_is_cut_between_its_items_never_after_a_joining_word():
    clause = "统筹开展肇庆怀集县怀城镇、潮州、云南昭通永善县松溪镇和黄华镇、西藏工布江达镇四地扶贫工作"
    pieces = elder.wrap(clause, ["扶贫"])
    assert pieces == ["统筹开展肇庆怀集县怀城镇、潮州", "云南昭通永善县松溪镇和黄华镇、西藏工布江达镇四地扶贫工作"]
    assert elder._cut_words("松溪镇和黄华镇", 4) == ["松溪镇", "和黄华镇"]
    clause = "努力提高中山一中西区中学和中山一中铁城中学的教学质量和办学水平"  # not …质量和办学。/水平。
    assert elder.wrap(clause, ["教学质量"]) == ["努力提高中山一中西区中学和中山一中铁城中学的教学质量", "和办学水平"]
