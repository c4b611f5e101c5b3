"""yamltree: YAML -> plain data plus positions, refusing what is unsafe or not YAML text."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
from fakes import write_file

from flowrunner.flow import FlowError, yamltree
from flowrunner.flow.yamltree import MAX_BYTES, MAX_DEPTH, parse, read

write = write_file


def problem(path: str) -> str:
    """The one problem reading `path` gives, as printed."""
    with pytest.raises(FlowError) as caught:
        read(path)
    (only,) = caught.value.problems
    return str(only)


def billion_laughs() -> str:
    """9 levels of 9 aliases each: 9**9 strings if aliases were expanded."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


# What is read


def test_reads_plain_data_and_the_position_of_every_value_and_key(tmp_path: Path) -> None:
    tree = read(
        write(
            tmp_path,
            """\
            app: demo
            states:
              start:
                do: [ring, {play: {media: 'sound:x'}}]
            """,
        )
    )
    assert tree.data == {
        "app": "demo",
        "states": {"start": {"do": ["ring", {"play": {"media": "sound:x"}}]}},
    }
    assert tree.values[("app",)] == (1, 6)
    assert tree.keys[("states", "start")] == (3, 3)
    assert tree.values[("states", "start", "do", 0)] == (4, 10)
    assert tree.values[("states", "start", "do", 1, "play", "media")] == (4, 31)


def test_where_falls_back_to_the_nearest_ancestor() -> None:
    tree = parse("a:\n  b: 1\n", "flow.yaml")
    assert tree.where(("a", "b", "missing")) == (2, 6)
    assert tree.where(("a", "missing"), key=True) == (1, 1)
    assert tree.where(("nowhere",)) == (1, 1)


def test_yes_no_on_off_stay_strings_and_true_false_are_booleans() -> None:
    tree = parse("a: [yes, no, on, off, y, n, Yes, NO]\nb: true\nc: false\non: 1\n", "f.yaml")
    assert tree.data == {
        "a": ["yes", "no", "on", "off", "y", "n", "Yes", "NO"],
        "b": True,
        "c": False,
        "on": 1,
    }


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12", 12),
        ("-3", -3),
        ("0x1F", 31),
        ("0o17", 15),
        ("1_000", 1000),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        ("-.inf", -math.inf),
        ("True", True),
        ("FALSE", False),
        ("~", None),
        ("null", None),
        ("2024-01-01", "2024-01-01"),  # a timestamp stays text
        ("!!str 12", "12"),
        ("'12'", "12"),
    ],
)
def test_scalars_become_python_values(text: str, value: object) -> None:
    assert parse(f"v: {text}\n", "f.yaml").data == {"v": value}


def test_nan_is_read_as_a_float() -> None:
    assert math.isnan(parse("v: .nan\n", "f.yaml").data["v"])


# What is refused, and where


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        ("version: 1\napp: [demo\ninitial: x\n", "3:8", "expected ',' or ']', but got ':'"),
        ("version: 1\n  app: demo\n", "2:6", "mapping values are not allowed here"),
        ("version: 1\n\tapp: demo\n", "2:1", "that cannot start any token"),
        ("a: *nowhere\n", "1:4", "found undefined alias 'nowhere'"),
        ("a: 1\n---\nb: 2\n", "2:1", "expected a single document"),
    ],
)
def test_a_syntax_error_points_at_its_line_and_column(
    tmp_path: Path, text: str, where: str, words: str
) -> None:
    path = write(tmp_path, text)
    message = problem(path)
    assert message.startswith(f"{path}:{where}: YAML syntax error: ")
    assert words in message


def test_a_duplicate_key_names_the_first_one(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        version: 1
        states:
          start: {}
          start: {}
        """,
    )
    assert problem(path) == f"{path}:4:3: states: duplicate key 'start' (first at line 3:3)"


def test_a_duplicate_top_level_key_has_no_key_trail(tmp_path: Path) -> None:
    path = write(tmp_path, "app: a\nversion: 1\napp: b\n")
    assert problem(path) == f"{path}:3:1: duplicate key 'app' (first at line 1:1)"


@pytest.mark.parametrize("text", ["", "\n\n   \n", "# only a comment\n"])
def test_an_empty_file_is_refused(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    assert problem(path) == f"{path}:1:1: the file is empty"


def test_binary_garbage_is_not_utf8_at_its_first_bad_byte(tmp_path: Path) -> None:
    # byte 10 ends line 1 (bytes 0-10); byte 128 is the first that is not UTF-8: 128 - 11 + 1
    path = write(tmp_path, bytes(range(256)))
    assert problem(path) == f"{path}:2:118: not UTF-8 text"


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b"version: 1\napp: demo\ndescription: caf\xe9 au lait\n", "3:17"),  # Latin-1 e-acute
        ("version: 1\ndescription: é".encode() + b"\xff\n", "2:15"),  # columns count characters
        ("version: 1\ndescription: é".encode()[:-1], "2:14"),  # cut in the middle of a character
    ],
)
def test_invalid_utf8_in_a_valid_file_points_at_the_bad_byte(
    tmp_path: Path, raw: bytes, where: str
) -> None:
    path = write(tmp_path, raw)
    assert problem(path) == f"{path}:{where}: not UTF-8 text"


@pytest.mark.parametrize(("char", "where"), [("\x00", "2:8"), ("\x07", "2:8"), ("\x1b", "2:8")])
def test_a_control_character_is_refused_where_it_stands(
    tmp_path: Path, char: str, where: str
) -> None:
    path = write(tmp_path, f"version: 1\napp: de{char}mo\n")
    message = problem(path)
    assert message.startswith(f"{path}:{where}: character ")
    assert message.endswith(" is not allowed")


def test_python_object_tag_is_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "SOMEFILE"
    path = write(tmp_path, f'version: 1\napp: !!python/object/apply:os.system ["touch {marker}"]\n')
    message = problem(path)
    assert not marker.exists()
    assert message == (
        f"{path}:2:6: app: the tag !!python/object/apply:os.system is not allowed in flow files"
    )


@pytest.mark.parametrize(
    ("value", "tag"),
    [
        ("!!python/name:os.system ''", "!!python/name:os.system"),
        ("!!binary aGVsbG8=", "!!binary"),
        ("!!set {a, b}", "!!set"),
        ("!!omap [a: 1]", "!!omap"),
    ],
)
def test_tags_that_build_objects_are_refused(tmp_path: Path, value: str, tag: str) -> None:
    path = write(tmp_path, f"app: {value}\n")
    assert problem(path) == f"{path}:1:6: app: the tag {tag} is not allowed in flow files"


def test_a_local_tag_is_named_as_written(tmp_path: Path) -> None:
    path = write(tmp_path, "app: !Ref x\n")
    assert problem(path) == f"{path}:1:6: app: the tag !Ref is not allowed in flow files"


def test_an_alias_bomb_fails_at_the_first_anchor(tmp_path: Path) -> None:
    path = write(tmp_path, billion_laughs())
    assert problem(path) == f"{path}:1:4: a: anchors and aliases (&name, *name) are not allowed"


def test_an_alias_is_refused_even_when_harmless(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\napp: &name demo\ndescription: *name\n")
    assert problem(path) == f"{path}:2:6: app: anchors and aliases (&name, *name) are not allowed"


def test_merge_keys_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\n<<: {app: demo}\n")
    assert problem(path) == f"{path}:2:1: merge keys (<<) are not allowed in flow files"


def test_a_key_that_is_a_list_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "? [a]\n: 1\n")
    assert problem(path) == f"{path}:1:3: a key must be a plain value, not a list or mapping"


def test_nesting_deeper_than_the_limit_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "a: " + "[" * 60 + "]" * 60 + "\n")
    # Refused before parsing, at the bracket past MAX_DEPTH: the first '[' is at column 4.
    assert problem(path) == f"{path}:1:{4 + MAX_DEPTH}: nested deeper than {MAX_DEPTH} levels"


def test_deep_nesting_is_refused_before_the_slow_parse(tmp_path: Path) -> None:
    # ruamel's cost grows with nesting on one line: this took minutes to refuse after parsing.
    path = write(tmp_path, "a: " + ("[" * 400 + "]" * 400 + ", ") * 1000 + "\n")
    assert problem(path) == f"{path}:1:{4 + MAX_DEPTH}: nested deeper than {MAX_DEPTH} levels"


def test_brackets_inside_quotes_do_not_count_as_nesting(tmp_path: Path) -> None:
    text = "a: '" + "[" * 60 + "'\nb: [1, [2]]\n"
    assert parse(text, "flow.yaml").data == {"a": "[" * 60, "b": [1, [2]]}


def test_nesting_too_deep_for_the_parser_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = write(tmp_path, "a: " + "[\n" * 5000 + "]" * 5000 + "\n")  # one per line: quick
    assert problem(path) == f"{path}:41:1: nested deeper than {MAX_DEPTH} levels"


def test_a_file_of_exactly_max_bytes_gets_past_the_size_check(tmp_path: Path) -> None:
    # A bad last byte makes the check after the size one fail, cheaply: no 1 MB parse.
    path = write(tmp_path, b"app: x\n#" + b"x" * (MAX_BYTES - 10) + b"\xff\n")
    assert Path(path).stat().st_size == MAX_BYTES
    assert problem(path) == f"{path}:2:{MAX_BYTES - 8}: not UTF-8 text"


def test_a_file_bigger_than_max_bytes_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, b"app: x\n#" + b"x" * MAX_BYTES + b"\n")
    assert problem(path) == f"{path}:1:1: larger than {MAX_BYTES} bytes"


def test_a_missing_file_has_no_position(tmp_path: Path) -> None:
    path = str(tmp_path / "missing.yaml")
    assert problem(path) == f"{path}: cannot read: No such file or directory"


def test_a_directory_cannot_be_read(tmp_path: Path) -> None:
    assert problem(str(tmp_path)) == f"{tmp_path}: cannot read: Is a directory"


# Bugs


def test_leading_zeros_are_a_decimal_number_as_in_yaml_1_2() -> None:
    assert parse("value: 0612345678\n", "flow.yaml").data == {"value": 612345678}


@pytest.mark.parametrize(
    "text",
    [
        "value: !!int abc\n",
        "value: !!float abc\n",
        "%YAML 1.1\n---\nvalue: 1:30\n",
    ],
)
def test_a_number_python_cannot_read_is_a_problem_not_a_crash(text: str) -> None:
    with pytest.raises(FlowError):
        parse(text, "flow.yaml")


def test_yaml_1_1_yes_stays_text_as_in_yaml_1_2() -> None:
    tree = parse("%YAML 1.1\n---\nfinal: yes\n", "flow.yaml")
    assert tree.data == {"final": "yes"}  # so the schema then says: expected boolean


def test_an_empty_value_is_on_the_line_of_its_key() -> None:
    tree = parse("app:\ninitial: x\n", "flow.yaml")
    assert tree.values[("app",)][0] == 1


# Hostile files


@pytest.mark.parametrize(
    "text",
    [
        "# " + "[" * 60 + "\na: 1\n",  # in a comment
        "a: 1  # " + "{" * 60 + "\n",
        'a: "' + "[" * 60 + '"\n',
        "a: it's " + "[" * 60 + "\n",  # a plain scalar, after a quote
        "a: |\n  " + "[" * 60 + "\n",
    ],
)
def test_brackets_that_are_text_are_no_nesting(text: str) -> None:
    parse(text, "flow.yaml")


def test_nesting_counts_block_levels_too(tmp_path: Path) -> None:
    text = "".join("  " * n + f"k{n}:\n" for n in range(MAX_DEPTH)) + "  " * MAX_DEPTH + "- 1\n"
    path = write(tmp_path, text)
    assert problem(path) == f"{path}:41:83: nested deeper than {MAX_DEPTH} levels"


def test_more_values_than_the_limit_are_refused_where_the_limit_is_passed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(yamltree, "MAX_VALUES", 10)
    path = write(tmp_path, "a: [1, 2, 3, 4, 5, 6, 7, 8]\nb: 1\n")
    assert problem(path) == f"{path}:1:26: more than 10 values in one file"


def test_a_lone_surrogate_is_refused_and_a_pair_is_one_character(tmp_path: Path) -> None:
    assert parse('a: "\\ud83d\\ude00"\n', "f.yaml").data == {"a": "😀"}
    path = write(tmp_path, 'a: "x\\udfff"\n')
    assert problem(path) == (
        f"{path}:1:4: a: text with an invalid character (a lone surrogate, as \\ud800)"
    )


@pytest.mark.parametrize(
    ("text", "where"),
    [("%YAML 1.0\n---\na: 1\n", "1:1"), ("a:\n- 1\n%YAML 1.3\n- 2\n", "3:1")],
)
def test_a_yaml_version_ruamel_cannot_read_is_refused(
    tmp_path: Path, text: str, where: str
) -> None:
    path = write(tmp_path, text)
    version = text.split("%YAML ")[1][:3]
    assert problem(path) == (
        f"{path}:{where}: %YAML {version} is not supported: write %YAML 1.2, or leave it out"
    )


def test_a_reused_anchor_is_refused_without_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, "a: &x 1\nb: &x 2\n")  # warnings are errors in the tests
    assert problem(path) == f"{path}:1:4: a: anchors and aliases (&name, *name) are not allowed"


def test_a_number_too_big_to_print_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "a: 0x" + "f" * 900 + "\n")  # 1084 digits: str() would refuse it
    assert problem(path) == (
        f"{path}:1:4: a: '0x{'f' * 77}…' is too big a number: at most 1000 decimal digits"
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "flow.yaml"
    os.mkfifo(fifo)
    assert problem(str(fifo)) == f"{fifo}: cannot read: not a file but a FIFO (named pipe)"


def test_a_nul_in_the_path_is_a_problem() -> None:
    assert problem("a\0b.yaml") == "a\\x00b.yaml: cannot read: embedded null byte"


def test_a_colon_in_plain_text_gets_the_quotes_it_needs() -> None:
    with pytest.raises(FlowError) as caught:
        parse("tests:\n  - name: press 1: sales\n", "t.test.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "t.test.yaml:2:18: YAML syntax error: mapping values are not allowed here; a text with "
        "': ' in it needs quotes: name: 'press 1: sales'"
    ]
