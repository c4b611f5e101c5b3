"""ari_operations: the packaged table of ARI operations, and matching a flow's `ari` call to it."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from flowrunner.steps import ACTIONS
from flowrunner.steps.ari_operations import (
    Operation,
    asterisk_version,
    find_operation,
    no_such_operation,
    operations,
)

METHODS = {"GET", "POST", "PUT", "DELETE"}


def packaged_table() -> dict[str, object]:
    text = resources.files("flowrunner.steps").joinpath("ari_operations.json").read_text()
    document: dict[str, object] = json.loads(text)
    return document


def found(method: str, path: str) -> Operation:
    operation = find_operation(method, path)
    assert operation is not None, no_such_operation(method, path)
    return operation


# The packaged JSON.


def test_packaged_json_is_well_formed() -> None:
    document = packaged_table()
    assert set(document) == {"asterisk", "operations"}
    assert isinstance(document["asterisk"], str)
    assert document["asterisk"]
    entries = document["operations"]
    assert isinstance(entries, list)
    assert len(entries) > 50
    keys = {"method", "path", "query", "required", "body", "summary"}
    for entry in entries:
        assert set(entry) == keys, entry
        assert entry["method"] in METHODS, entry
        assert entry["query"] == sorted(set(entry["query"])), entry
        assert entry["required"] == sorted(entry["required"]), entry
        assert set(entry["required"]) <= set(entry["query"]), entry
        assert isinstance(entry["body"], bool), entry
        assert isinstance(entry["summary"], str), entry
        assert entry["summary"], entry


def test_packaged_paths_are_relative_sorted_and_unique() -> None:
    entries = packaged_table()["operations"]
    assert isinstance(entries, list)
    keys = [(e["path"], e["method"]) for e in entries]
    assert keys == sorted(set(keys))
    for path, _ in keys:
        assert not path.startswith("/"), path
        assert not path.startswith("ari/"), path
        assert "" not in path.split("/"), path


def test_websocket_upgrade_is_not_an_operation() -> None:
    assert find_operation("GET", "events") is None
    assert found("POST", "events/user/{eventName}").body


def test_operations_mirror_the_packaged_json() -> None:
    entries = packaged_table()["operations"]
    assert isinstance(entries, list)
    assert [(op.method, op.path) for op in operations()] == [
        (e["method"], e["path"]) for e in entries
    ]
    assert asterisk_version() == packaged_table()["asterisk"]


# Operations flows need.


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "channels/{channelId}/answer"),
        ("POST", "channels/{channelId}/record"),
        ("POST", "channels/create"),
        ("POST", "channels/{channelId}/dial"),
        ("POST", "bridges"),
        ("POST", "bridges/{bridgeId}/addChannel"),
        ("GET", "channels/{channelId}/variable"),
        ("POST", "channels/{channelId}/variable"),
        ("POST", "channels/{channelId}/redirect"),
        ("POST", "channels/{channelId}/move"),
        ("DELETE", "channels/{channelId}"),
    ],
)
def test_table_has_operations_flows_need(method: str, path: str) -> None:
    operation = found(method, path)
    assert (operation.method, operation.path) == (method, path)
    assert operation in operations()


def test_every_named_action_is_an_ari_operation() -> None:
    routes = {name: spec.route for name, spec in ACTIONS.items() if spec.route}
    for name, (method, path) in routes.items():
        assert find_operation(method, path) is not None, (
            f"{name}: {no_such_operation(method, path)}"
        )


def test_record_parameters() -> None:
    record = found("POST", "channels/{channelId}/record")
    wanted = {
        "name",
        "format",
        "maxDurationSeconds",
        "maxSilenceSeconds",
        "beep",
        "terminateOn",
        "ifExists",
    }
    assert wanted <= record.query
    assert record.required == {"name", "format"}
    assert not record.body
    assert record.path_params == ("channelId",)


def test_set_variable_parameters() -> None:
    operation = found("POST", "channels/{channelId}/variable")
    assert {"variable", "value"} <= operation.query
    assert operation.required == {"variable"}
    assert "channelId" not in operation.required


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "channels"),
        ("POST", "channels/create"),
        ("POST", "bridges"),
        ("POST", "channels/{channelId}/variables"),
        ("PUT", "asterisk/config/dynamic/{configClass}/{objectType}/{id}"),
    ],
)
def test_body_operations(method: str, path: str) -> None:
    assert found(method, path).body


def test_path_params_in_order() -> None:
    operation = found("POST", "bridges/{bridgeId}/videoSource/{channelId}")
    assert operation.path_params == ("bridgeId", "channelId")
    assert found("GET", "channels").path_params == ()


# Matching flow paths.


def test_literal_segment_beats_parameter() -> None:
    assert found("POST", "channels/create").path == "channels/create"
    assert found("POST", "channels/externalMedia").path == "channels/externalMedia"
    assert found("POST", "channels/abc-123").path == "channels/{channelId}"
    assert found("POST", "channels/{channelId}").path == "channels/{channelId}"


def test_literal_segment_is_not_an_id_for_other_methods() -> None:
    # As Asterisk routes it: GET /ari/channels/create is 405, not "channel 'create' not found".
    assert find_operation("GET", "channels/create") is None
    assert no_such_operation("DELETE", "channels/create") == (
        "channels/create accepts POST, not DELETE"
    )


@pytest.mark.parametrize(
    "path",
    [
        "channels/{{ channel_id }}/answer",
        "channels/{{ call.channel.id }}/answer",
        "channels/{{ ids['a b'] }}/answer",
        "channels/{{ a/b }}/answer",
        "channels/chan-{{ n }}.{{ m }}/answer",
        "channels/1700000000.42/answer",
        "channels/{channel}/answer",
    ],
)
def test_any_segment_fills_a_parameter(path: str) -> None:
    assert found("POST", path).path == "channels/{channelId}/answer"


def test_templates_fill_several_parameters() -> None:
    operation = found("POST", "bridges/{{ bridge_id }}/videoSource/{{ caller.id }}")
    assert operation.path == "bridges/{bridgeId}/videoSource/{channelId}"


def test_one_leading_slash_is_ignored() -> None:
    assert found("POST", "/bridges/{{ b }}/addChannel").path == "bridges/{bridgeId}/addChannel"
    assert find_operation("POST", "//bridges/b/addChannel") is None


def test_method_is_case_insensitive() -> None:
    assert found("post", "channels/{channelId}/answer").method == "POST"
    assert found("Get", "channels/x/variable").method == "GET"


@pytest.mark.parametrize(
    "path",
    [
        "channels//answer",
        "channels/x/answer/",
        "channels/x/answer/extra",
        "",
        "/",
        "nothing/here",
        "channels/create/answer",  # Asterisk: 404 "Resource not found"
    ],
)
def test_unknown_paths_find_nothing(path: str) -> None:
    assert find_operation("POST", path) is None


# Messages.


def test_wrong_method_lists_the_methods_the_path_accepts() -> None:
    assert find_operation("DELETE", "channels/{{ c }}/variable") is None
    assert no_such_operation("delete", "channels/{{ c }}/variable") == (
        "channels/{channelId}/variable accepts GET, POST, not DELETE"
    )


def test_typo_gets_a_did_you_mean() -> None:
    assert find_operation("POST", "channels/{channelId}/varable") is None
    assert no_such_operation("POST", "/channels/{channelId}/varable") == (
        "no ARI operation POST channels/{channelId}/varable; "
        "did you mean POST channels/{channelId}/variable?"
    )


def test_typo_with_a_template_gets_a_did_you_mean() -> None:
    message = no_such_operation("POST", "bridges/{{ bridge.id }}/addChanel")
    assert message.endswith("did you mean POST bridges/{bridgeId}/addChannel?")


def test_nothing_alike_says_where_the_list_is() -> None:
    message = no_such_operation("GET", "zzz/qqq/xxx/yyy")
    assert message.startswith("no ARI operation GET zzz/qqq/xxx/yyy; ")
    assert "did you mean" not in message
    assert "ari_operations.json" in message
    assert asterisk_version() in message
