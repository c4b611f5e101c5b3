"""`flowrunner validate`: exit 0 valid, 1 invalid, 2 usage; problems on stdout, no traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fakes import write_file

from flowrunner.cli import main
from flowrunner.flow.yamltree import MAX_BYTES

REPO = Path(__file__).parents[3]
REFERENCE = REPO / "flows" / "channel-state.yaml"

BAD_TARGET = """\
version: 1
app: demo
initial: start
states:
  start:
    on:
      StasisEnd: endd
  ended:
    final: true
"""


write = write_file


def validate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    """Exit code and stdout lines of `flowrunner validate ARGS`, checking stderr is empty."""
    code = main(["validate", *args])
    out, err = capsys.readouterr()
    assert err == ""
    return code, out.splitlines()


def billion_laughs() -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


# Valid


def test_the_reference_flow_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert validate(capsys, str(REFERENCE)) == (0, ["1 flow file(s) valid"])


def test_the_repo_flows_directory_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = validate(capsys, str(REPO / "flows"))
    assert code == 0
    assert out[-1].endswith(" flow file(s) valid")


# Every kind of bad file: exit 1, the problem at path:line:col on stdout, no traceback


@pytest.mark.parametrize(
    ("content", "where", "words"),
    [
        ("version: 1\napp: [demo\ninitial: x\n", "3:8", "YAML syntax error"),
        ("version: 1\napp: a\napp: b\n", "3:1", "duplicate key 'app' (first at line 2:1)"),
        ("", "1:1", "the file is empty"),
        (bytes(range(256)), "2:118", "not UTF-8 text"),
        (b"version: 1\ndescription: caf\xe9\n", "2:17", "not UTF-8 text"),
        ("- version: 1\n", "1:1", "a flow must be a mapping"),
        (billion_laughs(), "1:4", "anchors and aliases (&name, *name) are not allowed"),
        ("version: 1\n<<: {app: demo}\n", "2:1", "merge keys (<<) are not allowed"),
        (b"#" * (MAX_BYTES + 1), "1:1", f"larger than {MAX_BYTES} bytes"),
        (BAD_TARGET, "7:18", "unknown state 'endd'; did you mean 'ended'?"),
    ],
    ids=[
        "syntax",
        "duplicate",
        "empty",
        "binary",
        "latin1",
        "list",
        "alias-bomb",
        "merge",
        "too-big",
        "semantic",
    ],
)
def test_a_bad_file_exits_1_with_its_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | bytes, where: str, words: str
) -> None:
    path = write(tmp_path, content)
    code, out = validate(capsys, path)
    assert code == 1
    assert out[0].startswith(f"{path}:{where}: ")
    assert words in out[0]


def test_a_python_tag_is_refused_and_not_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "SOMEFILE"
    path = write(tmp_path, f'version: 1\napp: !!python/object/apply:os.system ["touch {marker}"]\n')
    assert validate(capsys, path) == (
        1,
        [f"{path}:2:6: app: the tag !!python/object/apply:os.system is not allowed in flow files"],
    )
    assert not marker.exists()


def test_a_missing_file_exits_1_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(tmp_path / "nope.yaml")
    assert validate(capsys, path) == (1, [f"{path}: cannot read: No such file or directory"])


# Directories


def test_a_directory_reports_every_bad_file_and_skips_flow_tests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(REFERENCE, tmp_path / "good.yaml")
    bad = write(tmp_path, "version: 1\napp: a\napp: b\n", "bad.yaml")
    nested = write(tmp_path, BAD_TARGET, "sub/nested.yml")
    for skipped in ("good.test.yaml", "good.test.yml", "notes.txt", "README.md"):
        write(tmp_path, "garbage: [\n", skipped)
    code, out = validate(capsys, str(tmp_path))
    assert code == 1
    assert out == [
        f"{bad}:3:1: duplicate key 'app' (first at line 2:1)",
        f"{nested}:7:18: states.start.on.StasisEnd: unknown state 'endd'; did you mean 'ended'?",
    ]


def test_a_directory_of_valid_flows_counts_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(REFERENCE, tmp_path / "one.yaml")
    shutil.copy(REFERENCE, tmp_path / "two.yml")
    write(tmp_path, "garbage: [\n", "one.test.yaml")
    assert validate(capsys, str(tmp_path)) == (0, ["2 flow file(s) valid"])


def test_files_and_directories_together(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(REFERENCE, tmp_path / "good.yaml")
    bad = write(tmp_path, "", "elsewhere/empty.yaml")
    code, out = validate(capsys, str(tmp_path / "good.yaml"), bad)
    assert (code, out) == (1, [f"{bad}:1:1: the file is empty"])


# Formats


def test_json_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, BAD_TARGET)
    code, out = validate(capsys, "--format", "json", path)
    assert code == 1
    assert json.loads("\n".join(out)) == [
        {
            "path": path,
            "line": 7,
            "col": 18,
            "message": "unknown state 'endd'; did you mean 'ended'?",
            "key": ["states", "start", "on", "StasisEnd"],
        }
    ]


def test_json_format_keeps_list_indexes_as_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, BAD_TARGET.replace("    on:", "    do: [plya]\n    on:"))
    code, out = validate(capsys, "--format", "json", path)
    found = [(p["line"], p["col"], p["key"]) for p in json.loads("\n".join(out))]
    assert code == 1
    assert found == [
        (6, 10, ["states", "start", "do", 0]),  # the schema's problem, and in the same pass
        (8, 18, ["states", "start", "on", "StasisEnd"]),  # the unknown state's
    ]


def test_json_format_of_valid_files_is_an_empty_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = validate(capsys, "--format", "json", str(REFERENCE))
    assert (code, json.loads("\n".join(out))) == (0, [])


def test_github_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, BAD_TARGET)
    assert validate(capsys, "--format", "github", path) == (
        1,
        [
            f"::error file={path},line=7,col=18::"
            "states.start.on.StasisEnd: unknown state 'endd'; did you mean 'ended'?"
        ],
    )


def test_github_format_escapes_percent_signs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, BAD_TARGET + "100%: x\n")
    code, out = validate(capsys, "--format", "github", path)
    assert code == 1
    assert out == [
        f"::error file={path},line=7,col=18::states.start.on.StasisEnd: unknown state 'endd'; "
        "did you mean 'ended'?",
        f"::error file={path},line=10,col=1::unknown key '100%25'; expected one of: "
        "version, app, description, initial, vars, on, states, timezone, hours, uses, after_call, "
        "recovery, limits",
    ]


def test_github_format_of_valid_files_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert validate(capsys, "--format", "github", str(REFERENCE)) == (0, [])


# Usage errors


@pytest.mark.parametrize(
    "argv",
    [[], ["validate"], ["validate", "--format", "xml", "f.yaml"], ["validate", "--bogus", "f"]],
)
def test_a_usage_error_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert "usage: flowrunner" in capsys.readouterr().err


# Bugs


def test_a_phone_number_value_is_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    action = "    do:\n      - set_variable: {variable: CALLBACK, value: 0612345678}\n"
    path = write(
        tmp_path, BAD_TARGET.replace("endd", "ended").replace("    on:", action + "    on:")
    )
    code, out = validate(capsys, path)
    assert code == 1
    assert out == [
        f"{path}:7:51: states.start.do[0].set_variable.value: expected text, got a number: "
        'write it in quotes, "612345678"'
    ]


def test_github_format_with_a_colon_space_in_the_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, BAD_TARGET, "a: b/flow.yaml")
    assert validate(capsys, "--format", "github", path)[1] == [
        f"::error file={path.replace(':', '%3A')},line=7,col=18::"
        "states.start.on.StasisEnd: unknown state 'endd'; did you mean 'ended'?"
    ]


def test_github_format_escapes_a_comma_in_the_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, BAD_TARGET, "a,b.yaml")
    _, out = validate(capsys, "--format", "github", str(tmp_path / "a,b.yaml"))
    assert out[0].startswith(f"::error file={tmp_path}/a%2Cb.yaml,line=7,col=18::")


def test_past_100_problems_a_file_gets_a_count_in_every_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    states = "".join(f"  s{i}: {{on: {{StasisEnd: nowhere}}}}\n" for i in range(150))
    path = write(
        tmp_path, f"version: 1\napp: demo\ninitial: s0\nstates:\n{states}  e: {{final: true}}\n"
    )
    code, out = validate(capsys, path)
    assert (code, len(out), out[-1]) == (1, 101, f"{path}: … and 50 more problems")
    code, out = validate(capsys, "--format", "github", path)
    assert (code, len(out), out[-1]) == (1, 101, f"::error file={path}::… and 50 more problems")
    code, out = validate(capsys, "--format", "json", path)
    entries = json.loads("\n".join(out))
    assert len(entries) == 101
    assert entries[-1] == {
        "path": path,
        "line": 0,
        "col": 0,
        "message": "… and 50 more problems",
        "key": [],
    }


# A file of the other kind is named as such


def test_validate_names_a_flow_test_file_as_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "tests:\n  - {name: t, expect: {ended: true}}\n", "flow.test.yaml")
    assert validate(capsys, path) == (
        1,
        [f"{path}:1:1: this is a flow test file: run it with flowrunner test {path}"],
    )


def test_test_names_a_flow_as_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, BAD_TARGET)
    assert main(["test", path]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{path}:1:1: this is a flow, not a flow test file: its tests go in flow.test.yaml; "
        "flowrunner validate checks the flow"
    )
