"""Start `rasa run` with its API token read from a file, so the token is on no command line (`ps` shows argv).

    python -m bot.run_rasa --token-file var/rasa-api-token -- --model models/westbot.tar.gz --enable-api ...

The token comes from `$RASA_AUTH_TOKEN` when set, else from the file (made, 0600, when missing). Rasa is
called in this process with the token added to its arguments in memory only: /proc/<pid>/cmdline keeps the
arguments this process was started with. The body of a request to Rasa is capped at `MAX_BODY_BYTES` (Sanic's
REQUEST_MAX_SIZE: a larger body gets 413 before Rasa reads it) and a client gets `READ_TIMEOUT` seconds to send
its request (Sanic's REQUEST_TIMEOUT), unless the environment sets them. Our patches to Rasa's internals
(rasa_ext/patches.py) are applied here, before Rasa starts, unless `WESTBOT_RASA_PATCHES=0` or Rasa is not the
version they were written for (one log line says which).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from knowledge import privacy

MAX_BODY_BYTES = 64 * 1024  # a 2000-character message is about 12 KB of JSON
READ_TIMEOUT = 15


def rasa_arguments(argv: list[str]) -> tuple[list[str], Path]:
    parser = argparse.ArgumentParser(description="Run Rasa with its API token read from a file")
    parser.add_argument("--token-file", type=Path, default=Path("var/rasa-api-token"))
    parser.add_argument("rasa_args", nargs=argparse.REMAINDER, help="arguments of `rasa run`, after --")
    args = parser.parse_args(argv)
    rest = args.rasa_args[1:] if args.rasa_args[:1] == ["--"] else args.rasa_args
    return rest, args.token_file


def read_token(token_file: Path) -> str:
    token = os.environ.pop("RASA_AUTH_TOKEN", "").strip()
    if token:
        return token
    return privacy.read_or_create_secret(token_file).decode("ascii")


def main(argv: list[str] | None = None) -> None:
    privacy.mask_logs()  # Rasa's error and debug lines quote what residents typed
    rest, token_file = rasa_arguments(sys.argv[1:] if argv is None else argv)
    token = read_token(token_file)
    os.environ.setdefault("SANIC_REQUEST_MAX_SIZE", str(MAX_BODY_BYTES))
    os.environ.setdefault("SANIC_REQUEST_TIMEOUT", str(READ_TIMEOUT))
    # `--auth-token=…` in one piece: a token may start with "-".
    sys.argv = ["rasa", "run", *rest, f"--auth-token={token}"]
    from rasa.__main__ import main as rasa_main  # imported late: Rasa is slow to import

    from rasa_ext import patches

    say = logging.StreamHandler()  # Rasa sets up its own logging only later, in rasa_main
    say.setFormatter(logging.Formatter("%(asctime)s %(levelname)-8s %(name)s  - %(message)s"))
    patches.logger.addHandler(say)
    patches.logger.setLevel(logging.INFO)
    patches.logger.propagate = False
    patches.apply()
    rasa_main()


if __name__ == "__main__":
    main()
