"""`kb`: the staff command line for the knowledge base. A thin layer: the work is done in the library."""
from __future__ import annotations

import functools
from pathlib import Path

import click

from . import dictionary, ingest, segment, store
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


@click.group()
def cli():
    """Keep the West District assistant's knowledge base: build it, search it, regenerate its dictionary."""


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
        raise click.ClickException(str(error))
    if not hits:
        click.echo("no passage matches")
    for hit in hits:
        p = hit.passage
        click.echo(f"[{p['id']}] score {hit.score:.3f} coverage {hit.coverage:.2f} matched {','.join(hit.matched)}")
        click.echo(f"    {p['section'][:20]} · {p['heading']}")
        click.echo(f"    {p['text'][:120]}")


def main():
    cli(prog_name="kb")


if __name__ == "__main__":
    main()
