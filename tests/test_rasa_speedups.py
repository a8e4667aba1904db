"""The action-server reply check keeps Rasa's behaviour while building its validator once."""
import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

import nlu.components  # noqa: F401  (applies the change, as loading our model does)
from nlu import rasa_speedups


def remote():
    return RemoteAction("action_answer_from_plan", None)


def test_loading_our_components_applies_the_change():
    assert RemoteAction._validate_action_result is rasa_speedups._validate_action_result


def test_a_valid_reply_passes():
    reply = {"events": [{"event": "slot", "name": "last_topic", "value": "roads"}],
             "responses": [{"text": "金沙路……", "custom": {"source": "《西区2020年工作计划》"}}]}
    assert remote()._validate_action_result(reply) is True


@pytest.mark.parametrize("reply", [{"events": "not a list"}, {"events": [{"no": "event key"}]},
                                   {"responses": {"text": "not a list"}}])
def test_an_invalid_reply_fails_as_in_rasa(reply):
    with pytest.raises(ValidationError) as error:
        remote()._validate_action_result(reply)
    assert "Failed to validate Action server response" in error.value.message


def test_the_validator_is_built_once():
    assert rasa_speedups._response_validator() is rasa_speedups._response_validator()
