"""Chat with the running bot in a terminal, through the same REST channel the other front ends use."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid

import click


def send(url: str, sender: str, message: str, timeout: float = 30) -> list[dict]:
    body = json.dumps({"sender": sender, "message": message}).encode()
    request = urllib.request.Request(
        f"{url}/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"[]")


def render(messages: list[dict]) -> str:
    lines = []
    for m in messages:
        if m.get("text"):
            lines.append(m["text"])
        if m.get("buttons"):
            lines.append("  ".join(f"[{b['title']}]" for b in m["buttons"]))
    return "\n".join(lines)


@click.command()
@click.option("--url", default="http://localhost:5005", show_default=True, help="Where Rasa listens.")
@click.option("--sender", default=None, help="Conversation id (default: a new one).")
def main(url: str, sender: str | None):
    """Type questions; an empty line or Ctrl-D ends the chat."""
    sender = sender or f"terminal-{uuid.uuid4().hex[:8]}"
    click.echo(f"西区居民助手 (conversation {sender}). 发“长者模式”试试简短回答。")
    while True:
        try:
            text = input("您> ")
        except (EOFError, KeyboardInterrupt):
            break
        if not text.strip():
            break
        try:
            click.echo(render(send(url, sender, text)) or "(no reply)")
        except (urllib.error.URLError, TimeoutError) as error:
            click.echo(f"Rasa is not reachable at {url} ({error}). Is `make run` up?")


if __name__ == "__main__":
    main()
