"""Changes to Rasa's per-message work, written for Rasa 3.6.21 and applied explicitly by `apply()`.

`bot/run_rasa.py` calls `apply()` before it starts Rasa; nothing is changed by importing this module. `apply()`
changes nothing, and says so in one log line, when `rasa.__version__` is not `WRITTEN_FOR` (a Rasa upgrade must
check each patch against the new code first) or when `WESTBOT_RASA_PATCHES=0`. Each patch keeps Rasa's
behaviour and is tested in tests/test_rasa_patches.py; `benchmarks/load.py --no-patches` measures our bot with
and without them (benchmarks/results/load-patches*.md). Dropped: remembering whether the domain is empty and
event classes by name (the A/B showed no gain: p50 ratio 1.01 at 1 and 1.02 at 10 at once), and reusing
connections to the action server (Rasa's own reuse, added in 3.6.11, was reverted in 3.6.15 for action-server
timeouts, and ours did not show it handles them); see docs/scaling.md.

`validator`: Rasa checks every action server reply against a fixed JSON schema with `jsonschema.validate(reply,
schema)`, and that call re-checks the *schema* against JSON Schema's meta-schema each time before checking the
reply. Profiled under load (benchmarks/load.py, py-spy), that meta-schema check was 45% of the Rasa process's time.
Here the validator for the fixed schema is built (and the schema checked) once; each reply is validated exactly as
before and an invalid reply raises the same `ValidationError` with the same message.

`session_slots`: when a new session starts, Rasa carries the slots over by repeating every slot event of the old
session, so a session of 400 answers began the next one with 470 slot events, and each session carried all of the
one before it: a resident's history grew back with every visit. Here each slot is carried over once, with the value
(and metadata) it was last set to: the same slots and values after the session start, in a handful of events.

`action_server_wait`: when the action server restarts, Rasa's call to it failed at once and the resident got
no answer (HTTP 200 with no message). Three failures happen then: the connection is refused (the server is down);
it is reset before the request is written (it was queued for a listening socket that closed: "Cannot write to
closing transport"); or it is closed before any reply (a server killed in the middle). Here each of them is sent
again, with a growing pause, for up to `ACTION_SERVER_WAIT_SECONDS`. In the first two the action server never read
the request, so nothing runs twice. On SIGTERM the action server (Sanic) finishes every request it has read
before it exits (tests/test_end_to_end.py), so the third is left to a crash or `kill -9`: then an action may have
run in part, and sending it again may log that question or that feedback twice, which is better than a resident
left with no answer. Any other failure (a timeout, an error reply, a reply cut half-way) is Rasa's, unchanged. Its
gain is in the soak (benchmarks/soak.py): answers lost while the action server restarts.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
import rasa
from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions.action import ActionSessionStart, RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import SlotSet
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)

WRITTEN_FOR = "3.6.21"
SWITCH = "WESTBOT_RASA_PATCHES"  # "0": off; unset or "1": all; or patch names separated by commas

_rasa_validate_action_result = RemoteAction._validate_action_result
_rasa_carried_slots = ActionSessionStart._slot_set_events_from_tracker
_rasa_request = EndpointConfig.request
ACTION_SERVER_WAIT_SECONDS = 15.0  # under the web server's 20 s wait for Rasa (bot/rasa_client.py)


@functools.lru_cache(maxsize=1)
def _response_validator():
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    try:
        _response_validator().validate(result)
        return True
    except ValidationError as e:
        e.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise e


def _carried_slots(tracker: Any) -> list:
    """One `SlotSet` per slot set in the session, as it was last set, in the order of those last settings."""
    latest: dict[str, SlotSet] = {}
    for event in tracker.applied_events():
        if isinstance(event, SlotSet):
            latest.pop(event.key, None)
            latest[event.key] = event
    return [SlotSet(key=e.key, value=e.value, metadata=e.metadata) for e in latest.values()]


def _no_reply_from_the_server(error: Exception) -> bool:
    """Refused, reset or closed before any reply came: what a restarting action server does. Not a timeout (the
    server is busy, not gone), an error reply or a reply cut half-way: those are Rasa's to handle."""
    if isinstance(error, aiohttp.ServerTimeoutError):
        return False
    return isinstance(error, (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError))


async def _request_waiting_for_the_server(self: EndpointConfig, *args: Any, **kwargs: Any) -> Any:
    deadline, pause = time.monotonic() + ACTION_SERVER_WAIT_SECONDS, 0.1
    while True:
        try:
            return await _rasa_request(self, *args, **kwargs)
        except aiohttp.ClientError as error:
            if not _no_reply_from_the_server(error) or time.monotonic() + pause > deadline:
                raise
            if pause == 0.1:
                logger.warning(
                    f"{self.url} did not answer ({type(error).__name__}: {error}); trying again for up to "
                    f"{ACTION_SERVER_WAIT_SECONDS:g} s"
                )
            await asyncio.sleep(pause)
            pause = min(pause * 2, 1.0)


def _patch_validator(on: bool) -> None:
    RemoteAction._validate_action_result = _validate_action_result if on else _rasa_validate_action_result


def _patch_session_slots(on: bool) -> None:
    ActionSessionStart._slot_set_events_from_tracker = staticmethod(_carried_slots if on else _rasa_carried_slots)


def _patch_action_server_wait(on: bool) -> None:
    EndpointConfig.request = _request_waiting_for_the_server if on else _rasa_request


PATCHES: dict[str, Callable[[bool], None]] = {
    "validator": _patch_validator,
    "session_slots": _patch_session_slots,
    "action_server_wait": _patch_action_server_wait,
}


def wanted(environ: Mapping[str, str] = os.environ) -> list[str]:
    """The patches `WESTBOT_RASA_PATCHES` asks for, in `PATCHES` order."""
    value = environ.get(SWITCH, "1").strip().lower()
    if value in ("", "1", "on", "yes", "true", "all"):
        return list(PATCHES)
    if value in ("0", "off", "no", "false", "none"):
        return []
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = sorted(set(names) - set(PATCHES))
    if unknown:
        raise ValueError(f"{SWITCH}: no patch named {', '.join(unknown)} (known: {', '.join(PATCHES)})")
    return [n for n in PATCHES if n in names]


def apply(environ: Mapping[str, str] = os.environ, version: str | None = None) -> list[str]:
    """Apply the patches `WESTBOT_RASA_PATCHES` asks for, on Rasa `WRITTEN_FOR` only. Returns the names applied."""
    version = rasa.__version__ if version is None else version
    names = wanted(environ)
    if not names:
        logger.info(f"Rasa patches off ({SWITCH}={environ.get(SWITCH)}): Rasa {version} runs unchanged")
    elif version != WRITTEN_FOR:
        logger.warning(
            f"Rasa patches NOT applied: they were written for Rasa {WRITTEN_FOR} and this is Rasa "
            f"{version}; Rasa runs unchanged (check rasa_ext/patches.py against it, then update "
            f"WRITTEN_FOR)"
        )
        names = []
    else:
        logger.info(f"Rasa patches applied on Rasa {version}: {', '.join(names)}")
    for name, patch in PATCHES.items():
        patch(name in names)
    return names


def remove() -> None:
    """Rasa's own code back in place (for tests)."""
    for patch in PATCHES.values():
        patch(False)
