"""Changes to Rasa 3.6's per-message work, applied when Rasa loads our components (nlu/components/__init__.py).

Profiled under load (benchmarks/load.py, py-spy); each keeps Rasa's behaviour and is tested in
tests/test_rasa_speedups.py.

1. Rasa checks every action server reply against a fixed JSON schema with `jsonschema.validate(reply, schema)`, and
that call re-checks the *schema* against JSON Schema's meta-schema each time before checking the reply. Profiled
under load (benchmarks/load.py, py-spy), that meta-schema check was 45% of the Rasa process's time. Here the
validator for the fixed schema is built (and the schema checked) once; each reply is validated exactly as before
and an invalid reply raises the same `ValidationError` with the same message.

2. For every call to the action server Rasa opens a new HTTP client session, and so a new connection, and closes
it after the reply (`EndpointConfig.request`): about a tenth of Rasa's time, and work for the action server
accepting each connection. Here each endpoint keeps one client session per event loop, whose connections
are reused. Timeouts, headers and authentication are Rasa's; an idle connection is dropped after 2 s, before
the action server (Sanic, 5 s) would close it, so a request does not go out on a connection the server is
closing. A dead
action server fails the call exactly as before, and the next call after it is back opens a new connection.

3. Two small look-ups Rasa repeats for every message: whether the model's domain is empty (Rasa builds an empty
domain and compares both as dictionaries), and which event class a stored event's type name means (Rasa lists
every subclass of `Event` for each event it reads). The first is remembered per domain, which does not change
once loaded; the second in a table that is rebuilt whenever a name is not in it.

4. When a new session starts, Rasa carries the slots over by repeating every slot event of the old session, so a
session of 400 answers began the next one with 470 slot events, and each session carried all of the one before it:
a resident's history grew back with every visit. Here each slot is carried over once, with the value (and
metadata) it was last set to: the same slots and values after the session start, in a handful of events.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any, Dict

import aiohttp
from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions.action import ActionSessionStart, RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SlotSet
from rasa.shared.utils.common import all_subclasses
from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig

KEEP_IDLE_CONNECTION_SECONDS = 2.0
_rasa_session = EndpointConfig.session
_sessions: Dict[tuple, aiohttp.ClientSession] = {}


@functools.lru_cache(maxsize=1)
def _response_validator():
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
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


class _KeptSession:
    """Used as Rasa uses a session (`async with endpoint.session() as session`), but left open afterwards."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self._session

    async def __aexit__(self, *exc_info: Any) -> None:
        return None


def _session(self: EndpointConfig):
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return _rasa_session(self)  # outside an event loop: Rasa's own, closed after use
    auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"]) if self.basic_auth else None
    key = (id(loop), self.url, tuple(sorted(self.headers.items())), auth)
    session = _sessions.get(key)
    if session is None or session.closed or session._loop is not loop:
        for old in [k for k, s in _sessions.items() if s.closed or s._loop.is_closed()]:
            del _sessions[old]
        session = _sessions[key] = aiohttp.ClientSession(
            headers=self.headers,
            auth=auth,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(keepalive_timeout=KEEP_IDLE_CONNECTION_SECONDS),
        )
    return _KeptSession(session)


_rasa_is_empty = Domain.is_empty
_rasa_carried_slots = ActionSessionStart._slot_set_events_from_tracker
_rasa_resolve_by_type = Event.resolve_by_type
_event_classes: Dict[str, type] = {}


def _is_empty(self: Domain) -> bool:
    if "_westbot_is_empty" not in self.__dict__:
        self.__dict__["_westbot_is_empty"] = _rasa_is_empty(self)
    return self.__dict__["_westbot_is_empty"]


def _resolve_by_type(type_name: str, default: Any = None) -> Any:
    cls = _event_classes.get(type_name)
    if cls is None:
        _event_classes.clear()  # a name not seen yet, perhaps from a class imported since: list them again
        for subclass in all_subclasses(Event):
            _event_classes.setdefault(subclass.type_name, subclass)  # the first one, as Rasa's scan finds
        cls = _event_classes.get(type_name)
    if cls is None:
        return _rasa_resolve_by_type(type_name, default)  # Rasa's answer for unknown names, errors included
    return cls


def _carried_slots(tracker: Any) -> list:
    """One `SlotSet` per slot set in the session, as it was last set, in the order of those last settings."""
    latest: Dict[str, SlotSet] = {}
    for event in tracker.applied_events():
        if isinstance(event, SlotSet):
            latest.pop(event.key, None)
            latest[event.key] = event
    return [SlotSet(key=e.key, value=e.value, metadata=e.metadata) for e in latest.values()]


def apply() -> None:
    RemoteAction._validate_action_result = _validate_action_result
    EndpointConfig.session = _session
    Domain.is_empty = _is_empty
    Event.resolve_by_type = staticmethod(_resolve_by_type)
    ActionSessionStart._slot_set_events_from_tracker = staticmethod(_carried_slots)
