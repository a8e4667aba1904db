"""`kb`: the staff command line for the knowledge base. A thin layer: the work is done in the library."""

from __future__ import annotations

import csv
import functools
import getpass
import io
import json
import sqlite3
from datetime import datetime
from pathlib import Path

import click

from . import __version__, accounts, dictionary, follows, ingest, retention, segment, staff, store
from .questions import QuestionLog
from .search import KnowledgeBase
from .settings import get_settings


def kb_path_option(fn):
    """--db, shared by every command."""

    @click.option(
        "--db",
        "db_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Knowledge base file (default: $WESTBOT_KB or var/knowledge.db).",
    )
    @functools.wraps(fn)
    def wrapper(*args, db_path=None, **kwargs):
        return fn(*args, db_path=db_path or get_settings().kb_path, **kwargs)

    return wrapper


def by_option(fn):
    """--by, the name recorded in the history of a change."""

    @click.option("--by", default=None, help="Who makes the change (default: your login name).")
    @functools.wraps(fn)
    def wrapper(*args, by=None, **kwargs):
        return fn(*args, by=by or _login(), **kwargs)

    return wrapper


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in a container: still record something
        return "staff"


def staff_errors(fn):
    """Turn the library's refusals into a clear message and exit status 1, with nothing written."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (staff.ValidationError, staff.ConflictError, staff.NotFound, ValueError, FileNotFoundError) as error:
            raise click.ClickException(str(error)) from error
        except (OSError, sqlite3.Error) as error:
            # A full disk, a read-only file, a lock held too long: the transaction was rolled back.
            raise click.ClickException(
                f"could not save ({error}). Nothing was changed; try again or ask IT."
            ) from error

    return wrapper


def quiet_option(fn):
    """--quiet: make the change without telling the residents who follow its road or topic (a typo fix)."""
    return click.option(
        "--quiet", is_flag=True, default=False, help="Do not tell followers of this road or topic (e.g. a typo fix)."
    )(fn)


def _tell_followers(db, table: str, key, quiet: bool) -> None:
    told = follows.tell_followers(db, follows.latest_change(db, table, key), notify=not quiet)
    if told:
        click.echo(f"{told} followers will be told (sent from 08:00 to 22:00)")


def writer(db_path: Path):
    return store.open_for_writing(db_path)


@click.group()
@click.version_option(__version__, prog_name="kb", message="%(prog)s %(version)s")
def cli():
    """Keep the West District assistant's knowledge base: plans, passages, contacts, glossary, history.

    Every change is checked, saved in one transaction with who and when, and used by the bot for the very next
    question, without retraining or restarting.
    """


@cli.command("build")
@kb_path_option
def build(db_path: Path):
    """Create the knowledge base (if needed) and import every plan shipped in knowledge/data/documents."""
    settings = get_settings()
    db = store.open_for_writing(db_path)
    for title, created in ingest.build(db, settings.documents_dir, settings.default_contact):
        click.echo(f"{'imported' if created else 'unchanged'}: {title}")
    count = db.execute("SELECT count(*) FROM passages WHERE status = 'active'").fetchone()[0]
    click.echo(f"{count} passages answerable in {db_path}")


@cli.command("build-dictionary")
@kb_path_option
def build_dictionary(db_path: Path):
    """Regenerate the jieba user dictionary and the NLU lookup tables from the knowledge base."""
    settings = get_settings()
    db = store.open_for_writing(db_path)
    click.echo(f"wrote {dictionary.write_jieba_dictionary(db, settings.jieba_dict_dir)}")
    click.echo(f"wrote {dictionary.write_lookup_tables(db, settings.lookup_dir)}")


@cli.command("search")
@kb_path_option
@click.argument("query")
@click.option("--topic", default=None, help="Raise passages of this topic (elderly, employment, roads, ...).")
@click.option("--limit", default=5, show_default=True, help="How many passages to show.")
def search(db_path: Path, query: str, topic: str | None, limit: int):
    """Search the knowledge base the way the bot does, with scores."""
    settings = get_settings()
    segment.init_jieba(settings.jieba_dict_dir)
    kb = KnowledgeBase.from_path(db_path)
    try:
        hits = kb.search(query, topic=topic, limit=limit)
    except FileNotFoundError as error:
        raise click.ClickException(str(error)) from error
    if not hits:
        click.echo("no passage matches")
    for hit in hits:
        p = hit.passage
        click.echo(f"[{p['id']}] score {hit.score:.3f} coverage {hit.coverage:.2f} matched {','.join(hit.matched)}")
        click.echo(f"    {p['section'][:20]} · {p['heading']}")
        click.echo(f"    {p['text'][:120]}")


PASSAGE_OPTIONS = [
    click.option(
        "--topic",
        help="Topic: elderly, employment, roads, economy, reform, environment, livelihood, safety, party or overview.",
    ),
    click.option("--heading", help="A short title, e.g. the road or service (default: the first entity)."),
    click.option("--text", help="What residents should be told, in full sentences."),
    click.option(
        "--plain", help="An optional plain version for older residents (sentences of 30 characters or fewer)."
    ),
    click.option(
        "--entity",
        "entities",
        multiple=True,
        help="A road, group, programme or community it is about: a known name, or TYPE:NAME for a new "
        "one (road:翠湾北路). Repeat for several.",
    ),
    click.option("--valid-from", help="First day to answer with it (YYYY-MM-DD)."),
    click.option("--valid-to", help="Last day to answer with it (YYYY-MM-DD)."),
]


def passage_options(fn):
    for option in reversed(PASSAGE_OPTIONS):
        fn = option(fn)
    return fn


@cli.command("import")
@kb_path_option
@by_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@staff_errors
def import_(db_path: Path, by: str, file: Path):
    """Import a plan: its text, or the HTML page saved from the district site. The same plan twice changes nothing."""
    doc_id, created, title = staff.import_file(writer(db_path), file, by=by)
    click.echo(f"{'imported' if created else 'unchanged (already imported)'}: document {doc_id} {title}")


@cli.command("list")
@kb_path_option
@click.option("--topic", default=None, help="Only passages of this topic.")
@click.option(
    "--status",
    type=click.Choice(["active", "retired", "all"]),
    default="active",
    show_default=True,
    help="Which passages.",
)
@click.option("--document", "document_id", type=int, default=None, help="Only passages of this document id.")
def list_(db_path: Path, topic: str | None, status: str, document_id: int | None):
    """List passages: id, document, topics and the start of the text."""
    db = store.open_read_only(db_path)
    where: list[str] = []
    args: list[str | int] = []
    if status != "all":
        where.append("p.status = ?")
        args.append(status)
    if document_id is not None:
        where.append("p.document_id = ?")
        args.append(document_id)
    sql = (
        "SELECT p.id, d.title, p.topics, p.heading, p.text, p.status FROM passages p "
        "JOIN documents d ON d.id = p.document_id"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY p.id"
    )
    count = 0
    for pid, title, topics, heading, text, state in db.execute(sql, args):
        topics = json.loads(topics or "[]")
        if topic and topic not in topics:
            continue
        count += 1
        mark = "" if state == "active" else f" [{state}]"
        click.echo(f"{pid:>4}{mark} {title} | {','.join(topics)} | {heading or '-'} | {text[:40]}")
    click.echo(f"{count} passage(s)")


@cli.command("show")
@kb_path_option
@click.argument("passage_id", type=int)
@staff_errors
def show(db_path: Path, passage_id: int):
    """Show one passage in full, with its revision (for `kb edit --expect-revision`)."""
    db = store.open_read_only(db_path)
    row = staff.get_passage(db, passage_id)
    doc = db.table("documents").get(row["document_id"])
    click.echo(f"passage {passage_id} (revision {row['revision']}, {row['status']})")
    click.echo(f"document: {doc['title']} ({row['published'] or doc['published']})")
    for name in ("section", "heading", "text", "plain", "topics", "entities", "valid_from", "valid_to", "updated_at"):
        click.echo(f"{name}: {row[name] if row[name] not in (None, '') else '-'}")


EXPORT_FIELDS = [
    "id",
    "document",
    "published",
    "section",
    "heading",
    "text",
    "plain",
    "topics",
    "entities",
    "status",
    "valid_from",
    "valid_to",
    "revision",
]


@cli.command("export")
@kb_path_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "csv"]),
    default="json",
    show_default=True,
    help="JSON (a list of passages) or CSV (one passage a row, UTF-8 with BOM for Excel).",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file instead of the screen.",
)
def export(db_path: Path, fmt: str, output: Path | None):
    """Export every passage, retired ones included."""
    db = store.open_read_only(db_path)
    rows = [
        dict(zip(EXPORT_FIELDS, r))
        for r in db.execute(
            "SELECT p.id, d.title, COALESCE(p.published, d.published), p.section, p.heading, p.text, p.plain, "
            "p.topics, p.entities, p.status, p.valid_from, p.valid_to, p.revision "
            "FROM passages p JOIN documents d ON d.id = p.document_id ORDER BY p.id"
        )
    ]
    for row in rows:
        row["topics"], row["entities"] = json.loads(row["topics"] or "[]"), json.loads(row["entities"] or "[]")
    if fmt == "json":
        content = json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    else:
        buffer = io.StringIO()
        out = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS)
        out.writeheader()
        for row in rows:
            out.writerow({**row, "topics": ";".join(row["topics"]), "entities": ";".join(row["entities"])})
        content = "\ufeff" + buffer.getvalue()
    if output:
        output.write_text(content, encoding="utf-8")
        click.echo(f"{len(rows)} passages written to {output}")
    else:
        click.echo(content, nl=False)


@cli.command("add")
@kb_path_option
@by_option
@passage_options
@quiet_option
@staff_errors
def add(db_path: Path, by: str, topic, heading, text, plain, entities, valid_from, valid_to, quiet: bool):
    """Add a passage the bot answers from at once, e.g. a road's opening date or a service's phone number."""
    if not text:
        raise click.ClickException("--text is required")
    if not topic:
        raise click.ClickException("--topic is required")
    db = writer(db_path)
    pid = staff.add_passage(
        db,
        topic=topic,
        heading=heading or "",
        text=text,
        plain=plain,
        entities=entities,
        valid_from=valid_from,
        valid_to=valid_to,
        by=by,
    )
    click.echo(f"added passage {pid}; the bot answers with it from the next question")
    _tell_followers(db, "passages", pid, quiet)


@cli.command("edit")
@kb_path_option
@by_option
@passage_options
@click.argument("passage_id", type=int)
@click.option(
    "--expect-revision",
    type=int,
    default=None,
    help="Refuse to save if the passage is no longer at this revision (someone else saved first).",
)
@quiet_option
@staff_errors
def edit(
    db_path: Path,
    by: str,
    passage_id: int,
    expect_revision,
    topic,
    heading,
    text,
    plain,
    entities,
    valid_from,
    valid_to,
    quiet: bool,
):
    """Change a passage. With no field options, opens its text in your editor."""
    db = writer(db_path)
    fields = {
        "topic": topic,
        "heading": heading,
        "text": text,
        "plain": plain,
        "entities": list(entities) or None,
        "valid_from": valid_from,
        "valid_to": valid_to,
    }
    if all(v is None for v in fields.values()):
        current = staff.get_passage(db, passage_id)
        edited = click.edit(current["text"])
        if edited is None or edited.strip() == current["text"].strip():
            click.echo("no change")
            return
        fields["text"] = edited.strip()
        expect_revision = current["revision"] if expect_revision is None else expect_revision
    row = staff.edit_passage(db, passage_id, by=by, expect_revision=expect_revision, **fields)
    click.echo(f"saved passage {passage_id} (revision {row['revision']})")
    _tell_followers(db, "passages", passage_id, quiet)


@cli.command("retire")
@kb_path_option
@by_option
@click.argument("passage_id", type=int)
@quiet_option
@staff_errors
def retire(db_path: Path, by: str, passage_id: int, quiet: bool):
    """Stop answering from a passage. It is kept; `kb undo` brings it back."""
    db = writer(db_path)
    staff.retire_passage(db, passage_id, by=by)
    click.echo(f"retired passage {passage_id}")
    _tell_followers(db, "passages", passage_id, quiet)


@cli.group("contacts", invoke_without_command=True)
@click.pass_context
def contacts(ctx):
    """Service points and phone numbers per topic: what declines and 打电话问 point residents to."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(contacts_list)


@contacts.command("list")
@kb_path_option
def contacts_list(db_path: Path):
    """List the contacts."""
    for row in store.open_read_only(db_path)["contacts"].rows_where(order_by="topic, id"):
        click.echo(
            f"{row['id']:>3} {row['topic']:<12} {row['name']} {row['phone']} {row['hours'] or ''} "
            f"{row['address'] or ''}".rstrip()
        )


CONTACT_OPTIONS = [
    click.option("--topic", default="*", show_default=True, help="Topic it serves, or * for every topic."),
    click.option("--name", required=True, help="Service point, e.g. 西区社区卫生服务中心."),
    click.option("--phone", required=True, help="Phone number, e.g. 0760-88776655."),
    click.option("--hours", default="", help="Opening hours, e.g. 周一至周五 8:30-17:30."),
    click.option("--address", default="", help="Address."),
]


def contact_options(fn):
    for option in reversed(CONTACT_OPTIONS):
        fn = option(fn)
    return fn


@contacts.command("add")
@kb_path_option
@by_option
@contact_options
@staff_errors
def contacts_add(db_path: Path, by: str, topic, name, phone, hours, address):
    """Add a contact."""
    cid = staff.set_contact(writer(db_path), topic=topic, name=name, phone=phone, hours=hours, address=address, by=by)
    click.echo(f"added contact {cid}")


@contacts.command("edit")
@kb_path_option
@by_option
@click.argument("contact_id", type=int)
@contact_options
@staff_errors
def contacts_edit(db_path: Path, by: str, contact_id: int, topic, name, phone, hours, address):
    """Replace a contact's details."""
    staff.set_contact(
        writer(db_path), topic=topic, name=name, phone=phone, hours=hours, address=address, by=by, contact_id=contact_id
    )
    click.echo(f"saved contact {contact_id}")


@contacts.command("remove")
@kb_path_option
@by_option
@click.argument("contact_id", type=int)
@staff_errors
def contacts_remove(db_path: Path, by: str, contact_id: int):
    """Remove a contact (the last one cannot be removed)."""
    staff.remove_contact(writer(db_path), contact_id, by=by)
    click.echo(f"removed contact {contact_id}")


@cli.group("glossary", invoke_without_command=True)
@click.pass_context
def glossary(ctx):
    """Terms of the plan and plain explanations for older residents (4050人员, 白改黑, 瓶颈路 ...)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(glossary_list)


@glossary.command("list")
@kb_path_option
def glossary_list(db_path: Path):
    """List the terms."""
    for row in store.open_read_only(db_path)["glossary"].rows_where(order_by="term"):
        click.echo(f"{row['term']}: {row['plain']}")


@glossary.command("set")
@kb_path_option
@by_option
@click.argument("term")
@click.argument("plain")
@staff_errors
def glossary_set(db_path: Path, by: str, term: str, plain: str):
    """Add or change a term's plain explanation."""
    staff.set_glossary(writer(db_path), term, plain, by=by)
    click.echo(f"saved {term}")


@glossary.command("remove")
@kb_path_option
@by_option
@click.argument("term")
@staff_errors
def glossary_remove(db_path: Path, by: str, term: str):
    """Remove a term."""
    staff.remove_glossary(writer(db_path), term, by=by)
    click.echo(f"removed {term}")


@cli.group("phrase", invoke_without_command=True)
@click.pass_context
def phrase(ctx):
    """Resident phrases and the plan words they mean (打零工 -> 公益性岗位, 就业): live for the next question."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(phrase_list)


@phrase.command("list")
@kb_path_option
def phrase_list(db_path: Path):
    """List the phrases staff added (synonyms.yml holds the shipped ones)."""
    for row in staff.list_phrases(store.open_read_only(db_path)):
        click.echo(f"{row['phrase']} -> {', '.join(row['means'])}")


@phrase.command("add")
@kb_path_option
@by_option
@click.argument("phrase_text", metavar="PHRASE")
@click.option("--means", required=True, help="Plan words, comma-separated: --means 公益性岗位,就业")
@staff_errors
def phrase_add(db_path: Path, by: str, phrase_text: str, means: str):
    """Teach the bot a resident phrase: questions with PHRASE are searched with the plan words too."""
    saved = staff.add_phrase(writer(db_path), phrase_text, means, by=by)
    click.echo(f"saved {saved['phrase']} -> {', '.join(saved['means'])}; the bot uses it from the next question")


@phrase.command("remove")
@kb_path_option
@by_option
@click.argument("phrase_text", metavar="PHRASE")
@staff_errors
def phrase_remove(db_path: Path, by: str, phrase_text: str):
    """Forget a phrase staff added."""
    staff.remove_phrase(writer(db_path), phrase_text, by=by)
    click.echo(f"removed {phrase_text}")


@cli.group("example", invoke_without_command=True)
@click.pass_context
def example(ctx):
    """Resident questions and the passage that answers them (我妈中午没饭吃 -> 长者助餐): live for the next question."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(example_list)


@example.command("list")
@kb_path_option
@click.option("--passage", "passage_id", type=int, default=None, help="Only this passage's questions.")
def example_list(db_path: Path, passage_id: int | None):
    """List the questions staff attached (data/examples.yml holds the shipped ones)."""
    for row in staff.list_examples(store.open_read_only(db_path), passage_id):
        click.echo(f"{row['id']}\t{row['passage_id']}\t{row['question']}")


@example.command("add")
@kb_path_option
@by_option
@click.argument("passage_id", type=int)
@click.argument("question")
@staff_errors
def example_add(db_path: Path, by: str, passage_id: int, question: str):
    """Teach the bot that PASSAGE_ID answers QUESTION (and questions like it), in the resident's own words."""
    saved = staff.add_example(writer(db_path), passage_id, question, by=by)
    click.echo(f"saved example {saved['id']}: {saved['question']} -> passage {passage_id}; live from the next question")


@example.command("remove")
@kb_path_option
@by_option
@click.argument("example_id", type=int)
@staff_errors
def example_remove(db_path: Path, by: str, example_id: int):
    """Forget a question staff attached."""
    staff.remove_example(writer(db_path), example_id, by=by)
    click.echo(f"removed example {example_id}")


def _history_key(key: str) -> tuple[str, str]:
    kind, _, name = key.partition(":")
    if not name:
        return "passages", key
    tables = {
        "passage": "passages",
        "contact": "contacts",
        "glossary": "glossary",
        "entity": "entities",
        "document": "documents",
        "phrase": "phrases",
        "example": "examples",
        "announcement": "announcements",
    }
    if kind not in tables:
        raise click.ClickException(
            f"unknown kind {kind!r}: use passage:, contact:, glossary:, entity:, phrase:, example:, announcement: "
            "or document:"
        )
    return tables[kind], name


@cli.command("history")
@kb_path_option
@click.argument("key")
def history(db_path: Path, key: str):
    """Every change of a passage (`kb history 12`), contact (contact:3) or term (glossary:白改黑)."""
    table, row_key = _history_key(key)
    changes = staff.history(store.open_read_only(db_path), table, row_key)
    if not changes:
        click.echo("no recorded changes")
    for c in changes:
        undone = f" (undone by {c['undone_by']})" if c["undone_by"] else ""
        undo_of = f" of change {c['undo_of']}" if c["undo_of"] else ""
        click.echo(f"change {c['id']}: {c['at']} {c['by']} {c['action']}{undo_of}{undone}")
        for field in _changed_fields(c["before"], c["after"]):
            old = (c["before"] or {}).get(field)
            new = (c["after"] or {}).get(field)
            click.echo(f"    {field}: {_short(old)} -> {_short(new)}")


def _changed_fields(before, after) -> list[str]:
    keys = dict.fromkeys([*(before or {}), *(after or {})])
    skip = {"updated_at", "revision", "published", "id", "document_id", "seq", "part_no"}
    return [k for k in keys if k not in skip and (before or {}).get(k) != (after or {}).get(k)]


def _short(value, limit: int = 60) -> str:
    text = "-" if value in (None, "") else str(value)
    return text if len(text) <= limit else text[:limit] + "…"


@cli.command("undo")
@kb_path_option
@by_option
@click.argument("change_id", type=int)
@quiet_option
@staff_errors
def undo(db_path: Path, by: str, change_id: int, quiet: bool):
    """Put things back as they were before change CHANGE_ID (see `kb history`). The undo is recorded too."""
    db = writer(db_path)
    new_id = staff.undo(db, change_id, by=by)
    click.echo(f"undid change {change_id} (recorded as change {new_id})")
    told = follows.tell_followers(db, new_id, notify=not quiet)
    if told:
        click.echo(f"{told} followers will be told (sent from 08:00 to 22:00)")


@cli.command("unanswered")
@click.option(
    "--questions",
    "questions_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Question log (default: $WESTBOT_QUESTIONS or var/questions.db).",
)
@click.option("--limit", default=30, show_default=True, help="How many groups to show.")
def unanswered(questions_path: Path | None, limit: int):
    """What residents asked that the bot declined or answered unsurely, grouped and counted, newest first; 👍/👎."""
    log = QuestionLog(questions_path or get_settings().questions_path)
    groups = log.unanswered(limit=limit)
    if not groups:
        click.echo("no unanswered questions")
    for g in groups:
        unsure = "" if g["outcome"] == "declined" else "  (answered, low confidence)"
        click.echo(f"{g['count']:>4}x  last {g['last_asked']}  {g['text']}{unsure}")
    feedback = log.feedback_summary()
    if feedback:
        click.echo("feedback on answers (passage: 👍 / 👎):")
        for f in feedback:
            click.echo(f"  passage {f['passage_id']}: {f['up']} / {f['down']}")


@cli.command("forget")
@click.option("--days", type=int, default=None, help="Keep this many days (default: $WESTBOT_RETENTION_DAYS or 90).")
@click.option(
    "--endpoints",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="WESTBOT_ENDPOINTS",
    default=None,
    help="Forget in the tracker store this Rasa endpoints file names, e.g. "
    "endpoints.scaled.yml (PostgreSQL; default: the SQLite file var/trackers.db).",
)
@staff_errors
def forget(days: int | None, endpoints: Path | None):
    """Delete conversations, unanswered questions and feedback older than the retention period."""
    settings = get_settings()
    url = retention.tracker_store_url(endpoints) if endpoints else None
    removed = retention.forget(
        settings.trackers_path, settings.questions_path, days or settings.retention_days, tracker_store=url
    )
    if settings.follows_path.exists():  # active follows stay; old follow messages go
        removed.update(follows.forget_old(follows.open_follows(settings.follows_path), days or settings.retention_days))
    click.echo("deleted: " + ", ".join(f"{count} {what}" for what, count in removed.items()))


@cli.command("announce")
@kb_path_option
@by_option
@click.option("--topic", default=None, help="Tell the followers of this topic (roads, elderly, employment, ...).")
@click.option("--entity", default=None, help="Tell the followers of this road, programme or group (e.g. 金沙路).")
@click.option("--text", required=True, help="The announcement, as residents will read it.")
@click.option("--yes", is_flag=True, default=False, help="Send without asking (after the preview).")
@staff_errors
def announce(db_path: Path, by: str, topic: str | None, entity: str | None, text: str, yes: bool):
    """Send an announcement to the residents who follow a topic or an entity: preview, count, confirm."""
    from .notices import compose_announcement

    if bool(topic) == bool(entity):
        raise click.ClickException("give exactly one of --topic or --entity")
    subject = follows.check_subject(
        follows.Subject("topic", topic) if topic else follows.Subject("entity", entity or "")
    )
    db = follows.open_follows(get_settings().follows_path)
    recipients = follows.announcement_recipients(db, subject)
    click.echo("preview:\n" + compose_announcement(subject, text.strip(), elder=False)[0])
    click.echo(f"recipients: {recipients} (followers of {subject.label}; sent from 08:00 to 22:00)")
    if recipients == 0:
        click.echo("nobody follows this yet: nothing sent")
        return
    if not yes and not click.confirm("Send it?", default=False):
        click.echo("not sent")
        return
    announcement_id, count = follows.announce(writer(db_path), db, subject, text, by)
    click.echo(
        f"announcement {announcement_id} queued for {count} followers (kb history announcement:{announcement_id})"
    )


@cli.command("backup")
@kb_path_option
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path), required=False)
@staff_errors
def backup(db_path: Path, destination: Path | None):
    """Copy the knowledge base safely while the bot runs (default: var/backups/knowledge-<time>.db)."""
    destination = destination or db_path.parent / "backups" / f"knowledge-{datetime.now():%Y%m%d-%H%M%S}.db"
    staff.backup(store.open_read_only(db_path), destination)
    click.echo(f"backed up to {destination}")


@cli.command("restore")
@kb_path_option
@by_option
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.confirmation_option(prompt="Replace the knowledge base with this backup?")
@staff_errors
def restore(db_path: Path, by: str, source: Path):
    """Replace the knowledge base with a backup made by `kb backup`."""
    staff.restore(writer(db_path), source, by=by)
    click.echo(f"restored from {source}")


@cli.group("staff")
def staff_accounts():
    """Accounts of the staff console (http://127.0.0.1:8081/): add, list, disable, enable, password."""


def account_errors(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except accounts.AccountError as error:
            raise click.ClickException(str(error)) from error

    return wrapper


def _new_password() -> str:
    return click.prompt("Password", hide_input=True, confirmation_prompt="Repeat the password")


@staff_accounts.command("add")
@kb_path_option
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(accounts.ROLES),
    required=True,
    help="editor: may change content; viewer: may read everything and change nothing.",
)
@account_errors
def staff_add(db_path: Path, name: str, role: str):
    """Add a console account; asks for its password (at least 10 characters)."""
    accounts.add_account(writer(db_path), name, role, _new_password())
    click.echo(f"added {role} {name}; they sign in at the staff console")


@staff_accounts.command("list")
@kb_path_option
def staff_list(db_path: Path):
    """List the accounts: name, role, state and last sign-in."""
    rows = accounts.list_accounts(writer(db_path))
    if not rows:
        click.echo("no staff accounts: add one with `kb staff add NAME --role editor`")
    for a in rows:
        state = (
            "disabled" if a["disabled"] else (f"locked until {a['locked_until']}" if a["locked_until"] else "active")
        )
        click.echo(f"{a['name']:<16} {a['role']:<7} {state:<10} last sign-in {a['last_login_at'] or '-'}")


@staff_accounts.command("disable")
@kb_path_option
@click.argument("name")
@account_errors
def staff_disable(db_path: Path, name: str):
    """Stop an account from signing in; its open sessions end at their next page."""
    accounts.set_disabled(writer(db_path), name, True)
    click.echo(f"disabled {name}")


@staff_accounts.command("enable")
@kb_path_option
@click.argument("name")
@account_errors
def staff_enable(db_path: Path, name: str):
    """Let a disabled account sign in again."""
    accounts.set_disabled(writer(db_path), name, False)
    click.echo(f"enabled {name}")


@staff_accounts.command("password")
@kb_path_option
@click.argument("name")
@account_errors
def staff_password(db_path: Path, name: str):
    """Set a new password for an account (asks for it); this also lifts a lock after wrong passwords."""
    accounts.set_password(writer(db_path), name, _new_password())
    click.echo(f"new password set for {name}")


def main():
    cli(prog_name="kb")


if __name__ == "__main__":
    main()
