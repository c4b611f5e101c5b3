"""pieces: states in a file of their own, used by flows; mistakes at the file they are in."""

from __future__ import annotations

from pathlib import Path

from fakes import load_problems

from flowrunner.cli import main
from flowrunner.flow import load_flow

PIECE = """piece: 1
params: {pin: null, tries: 3}
required: [pin]
vars: {tries_left: 0}
exits: [ok, failed]
initial: ask
states:
  ask:
    do: [{collect: {prompt: sound:x, into: entered, max_digits: 4}}]
    on:
      DigitsCollected:
        - {when: "entered == pin", goto: ok}
        - {goto: failed}
      NoInput: failed
"""

FLOW = """version: 1
app: demo
initial: start
uses:
  door:
    piece: pieces/pin.yaml
    with: {pin: "{{ code }}"}
    exits: {ok: inside, failed: ended}
vars: {code: "1234"}
on: {StasisEnd: ended}
states:
  start:
    do: [answer]
    then: door
  inside:
    do: [{set: {came_in: "{{ entered }}"}}]
    then: ended
  ended: {final: true}
"""


def files(tmp_path: Path, flow: str = FLOW, piece: str = PIECE) -> tuple[Path, Path]:
    (tmp_path / "pieces").mkdir(exist_ok=True)
    (tmp_path / "pieces" / "pin.yaml").write_text(piece)
    (tmp_path / "flow.yaml").write_text(flow)
    return tmp_path / "flow.yaml", tmp_path / "pieces" / "pin.yaml"


def test_a_use_makes_the_pieces_states_the_flows_own(tmp_path: Path) -> None:
    flow = load_flow(str(files(tmp_path)[0]))
    assert list(flow.states) == ["start", "inside", "ended", "door", "door__ask"]
    entry = flow.states["door"]
    (set_them,) = entry.actions
    assert set(set_them.params) == {"tries_left", "pin", "tries"}  # vars, params, `with`
    assert [(t.event, t.target) for t in entry.transitions] == [("then", "door__ask")]
    targets = [t.target for t in flow.states["door__ask"].transitions]
    assert targets == ["inside", "ended", "ended"]  # the exits, as the use maps them


def test_a_mistake_in_a_piece_is_reported_at_the_pieces_line(tmp_path: Path) -> None:
    broken = PIECE.replace("goto: failed}", "goto: faild}").replace("entered == pin", "enterd")
    flow, piece = files(tmp_path, piece=broken)
    assert load_problems(str(flow)) == [
        f"{piece}:12:19: states.ask.on.DigitsCollected[0].when: unknown variable 'enterd'; "
        "did you mean 'entered'?",
        f"{piece}:13:18: states.ask.on.DigitsCollected[1].goto: unknown state 'faild'; "
        "did you mean 'failed'?",
    ]


def test_each_use_is_checked_against_its_piece(tmp_path: Path) -> None:
    use = FLOW.replace('with: {pin: "{{ code }}"}', 'with: {pim: "1", tries: "{{ cod }}"}')
    use = use.replace("exits: {ok: inside, failed: ended}", "exits: {ok: insde, fail: ended}")
    flow, _ = files(tmp_path, flow=use)
    assert load_problems(str(flow)) == [
        f"{flow}:7:11: uses.door.with: the piece needs the parameter 'pin'",
        f"{flow}:7:12: uses.door.with.pim: the piece has no parameter 'pim'; did you mean 'pin'?",
        f"{flow}:7:33: uses.door.with.tries: unknown variable 'cod'; did you mean 'code'?",
        f"{flow}:8:12: uses.door.exits: the piece's exit 'failed' leads nowhere: map it",
        f"{flow}:8:17: uses.door.exits.ok: unknown state 'insde'; did you mean 'inside'?",
        f"{flow}:8:24: uses.door.exits.fail: the piece has no exit 'fail'; did you mean 'failed'?",
    ]


def test_a_missing_piece_file_is_reported_at_the_use(tmp_path: Path) -> None:
    flow, _ = files(tmp_path, flow=FLOW.replace("pieces/pin.yaml", "pieces/nope.yaml"))
    assert load_problems(str(flow)) == [
        f"{flow}:6:12: uses.door.piece: piece 'pieces/nope.yaml': cannot read: "
        "No such file or directory"
    ]


def test_validate_checks_a_piece_on_its_own(tmp_path: Path, capsys: object) -> None:
    _, piece = files(tmp_path, piece=PIECE.replace("NoInput: failed", "NoInput: ask\n  lost: {}"))
    assert main(["validate", str(piece)]) == 1
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert out.splitlines() == [
        f"{piece}:15:3: states.lost: unreachable: no transition leads to this state",
    ]
    files(tmp_path)
    assert main(["validate", str(tmp_path)]) == 0  # the flow and its piece, each as what it is


def test_a_piece_changes_the_flows_version(tmp_path: Path) -> None:
    flow, piece = files(tmp_path)
    before = load_flow(str(flow)).version
    piece.write_text(PIECE.replace("max_digits: 4", "max_digits: 6"))
    assert load_flow(str(flow)).version != before


def test_a_use_cannot_have_a_states_name(tmp_path: Path) -> None:
    flow, _ = files(tmp_path, flow=FLOW.replace("  inside:\n", "  door: {}\n  inside:\n"))
    assert load_problems(str(flow)) == [
        f"{flow}:5:3: uses.door: a state is named 'door' too: rename the use or the state"
    ]


def test_a_broken_piece_used_twice_is_reported_once(tmp_path: Path) -> None:
    twice = FLOW.replace(
        "uses:\n  door:\n",
        "uses:\n  back_door:\n    piece: pieces/pin.yaml\n    with: {pin: '1'}\n"
        "    exits: {ok: inside, failed: ended}\n  door:\n",
    )
    flow, piece = files(tmp_path, flow=twice, piece=PIECE.replace("goto: failed}", "goto: faild}"))
    assert load_problems(str(flow)) == [
        f"{piece}:13:18: states.ask.on.DigitsCollected[1].goto: unknown state 'faild'; "
        "did you mean 'failed'?",
    ]


def test_a_piece_is_checked_in_one_pass_too(tmp_path: Path, capsys: object) -> None:
    broken = PIECE.replace("max_digits: 4", "max_digits: four").replace(
        "NoInput: failed", "NoInput: faild"
    )
    _, piece = files(tmp_path, piece=broken)
    assert main(["validate", str(piece)]) == 1
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert out.splitlines() == [
        f"{piece}:9:65: states.ask.do[0].collect.max_digits: expected a whole number, got text",
        f"{piece}:14:16: states.ask.on.NoInput: unknown state 'faild'; did you mean 'failed'?",
    ]


def test_a_broken_piece_does_not_hide_the_flows_own_problems(tmp_path: Path) -> None:
    flow, piece = files(
        tmp_path,
        flow=FLOW.replace("then: ended\n", "then: endd\n"),
        piece=PIECE.replace("goto: failed}", "goto: faild}"),
    )
    assert load_problems(str(flow)) == [
        f"{flow}:17:11: states.inside.then: unknown state 'endd'; did you mean 'ended'?",
        f"{piece}:13:18: states.ask.on.DigitsCollected[1].goto: unknown state 'faild'; "
        "did you mean 'failed'?",
    ]
