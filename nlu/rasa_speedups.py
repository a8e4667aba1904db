"""One change to Rasa 3.6's per-message work, applied when Rasa loads our components (nlu/components/__init__.py).

Rasa checks every action server reply against a fixed JSON schema with `jsonschema.validate(reply, schema)`, and
that call re-checks the *schema* against JSON Schema's meta-schema each time before checking the reply. Profiled
under load (benchmarks/load.py, py-spy), that meta-schema check was 45% of the Rasa process's time. Here the
validator for the fixed schema is built (and the schema checked) once; each reply is validated exactly as before
and an invalid reply raises the same `ValidationError` with the same message.
"""
from __future__ import annotations

import functools
from typing import Any, Dict, Text

from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


@functools.lru_cache(maxsize=1)
def _response_validator():
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
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


def apply() -> None:
    RemoteAction._validate_action_result = _validate_action_result
