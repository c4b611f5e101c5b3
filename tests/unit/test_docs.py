"""The examples in the README and in docs/ are real: every flow in them validates, every fragment
of states validates inside a small harness flow, the broken example fails exactly as shown, and
every flow-test excerpt passes against its flow. Their links lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fakes import REPO

from flowrunner.cli import main
from flowrunner.engine.machine import compile_flow
from flowrunner.flow import FlowError, load_flow, yamltree
from flowrunner.flow.loader import check_file
from flowrunner.flowtest.cases import load_test_file
from flowrunner.flowtest.runner import run_case

DOCS = {
    path.relative_to(REPO).as_posix(): path.read_text(encoding="utf-8")
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
}
README = DOCS["README.md"]
BROKEN_INTRO = re.compile(r"^(?:That )?`(\w+\.yaml)`:$")  # a broken flow, then what validate says


def yaml_blocks() -> list[tuple[str, str, str]]:
    """(where, kind, text) of each ```yaml block: a flow, a test excerpt, the broken example, or
    a fragment of `states`."""
    blocks = []
    for name, doc in DOCS.items():
        blocks += _blocks_of(name, doc)
    return blocks


def _blocks_of(name: str, doc: str) -> list[tuple[str, str, str]]:
    blocks = []
    for match in re.finditer(r"```yaml\n(.*?)```", doc, re.S):
        where = f"{name}:{doc.count(chr(10), 0, match.start()) + 1}"
        text = match.group(1)
        before = doc[: match.start()].rstrip().splitlines()[-1]
        if BROKEN_INTRO.match(before):
            kind = "broken"
        elif re.match(r"# (\.pre-commit|\.github|prometheus|kubernetes)", text):
            kind = "tooling"  # another tool's file: the hooks are tested in tests/packaging,
            # the metrics' files in tests/unit/observe/test_metric_names.py
        elif text.startswith("# tests of the flow above"):
            kind = "paired"  # a test file for the yaml block just before it
        elif re.search(r"^tests:", text, re.M):
            kind = "test"
        elif re.match(r"# flows/\S+\.yaml", text) and not re.search(r"^version: 1", text, re.M):
            kind = "excerpt"  # of a shipped flow or piece
        elif re.search(r"^version: 1", text, re.M):
            kind = "flow"
        else:
            kind = "fragment"
        blocks.append((where, kind, text))
    return blocks


def blocks_of(kind: str) -> list[pytest.param]:  # type: ignore[valid-type]
    return [pytest.param(text, id=where) for where, k, text in yaml_blocks() if k == kind]


@pytest.mark.parametrize("text", blocks_of("flow"))
def test_each_flow_validates(tmp_path: Path, text: str) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(text, encoding="utf-8")
    load_flow(str(path))


@pytest.mark.parametrize("text", blocks_of("fragment"))
def test_each_fragment_of_states_validates_in_a_harness_flow(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fragment.yaml"
    path.write_text(harness(text, declared(text)), encoding="utf-8")
    load_flow(str(path))  # a variable the fragment reads but does not declare is an error


def declared(fragment: str) -> set[str]:
    """The flow variables a fragment says its flow has: `# the flow has vars: {a: 1, b: x}`."""
    found = re.search(r"^\s*# the flow has vars: (.*)$", fragment, re.M)
    return set(yamltree.parse(found.group(1), "vars").data) if found else set()


def test_a_fragment_reading_an_undeclared_variable_fails(tmp_path: Path) -> None:
    fragment = '  menu:\n    on:\n      ChannelDtmfReceived: {goto: menu, when: "choise == 1"}\n'
    path = tmp_path / "fragment.yaml"
    path.write_text(harness(fragment, declared(fragment)), encoding="utf-8")
    with pytest.raises(FlowError, match="unknown variable 'choise'"):
        load_flow(str(path))


def harness(fragment: str, variables: set[str]) -> str:
    """A flow around a fragment: its states, a stub for each state it goes to, and a way to
    reach each of them, so only the fragment itself can be wrong."""
    states = yamltree.parse("states:\n" + fragment, "fragment").data["states"]
    targets = {target for spec in states.values() for target in _targets(spec or {})}
    stubs = sorted(targets - set(states) - {"ended"})
    reach = [name for name in [*states, *stubs] if name != next(iter(states))]
    lines = ["version: 1", "app: snippet", f"initial: {next(iter(states))}"]
    lines += ["vars:", *(f"  {name}: null" for name in sorted(variables))] if variables else []
    lines += ["on:", "  StasisEnd: ended"]
    lines += ["  ChannelUserevent:"] * bool(reach)
    lines += [f"    - {{eventname: reach_{name}, goto: {name}}}" for name in reach]
    lines += ["states:", fragment.rstrip()]
    lines += [f"  {stub}:\n    do: [hangup]" for stub in stubs]
    lines += [] if "ended" in states else ["  ended:\n    final: true"]
    return "\n".join(lines) + "\n"


def _targets(spec: dict[str, Any]) -> set[str]:
    """Where a state's `on`, `after` and `then` lead."""
    values = [*(spec.get("after") or {}).values(), *(spec.get("on") or {}).values()]
    values += [spec["then"]] if "then" in spec else []
    found = set()
    for value in values:
        for item in value if isinstance(value, list) else [value]:
            found.add(item if isinstance(item, str) else item["goto"])
    return found


def broken_examples() -> list[pytest.param]:  # type: ignore[valid-type]
    """(name, flow, what validate prints) of each `NAME.yaml`: block and its console block."""
    found = []
    for doc in DOCS.values():
        pattern = r"^(?:That )?`(\w+\.yaml)`:\n\n```yaml\n(.*?)```"
        for name, text in re.findall(pattern, doc, re.S | re.M):
            shown = re.search(
                rf"\$ flowrunner validate {re.escape(name)}\n(.*?)\n\$ echo", doc, re.S
            )
            assert shown is not None, f"what validate says of {name} is shown"
            found.append(pytest.param(name, text, shown.group(1), id=name))
    return found


def test_every_broken_example_is_found() -> None:
    assert len(broken_examples()) == len(blocks_of("broken")) == 2


@pytest.mark.parametrize(("name", "text", "shown"), broken_examples())
def test_each_broken_example_fails_exactly_as_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, shown: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert main(["validate", str(path)]) == 1
    printed = capsys.readouterr().out.replace(str(path), name)
    assert printed.splitlines() == shown.splitlines()


@pytest.mark.parametrize("text", blocks_of("excerpt"))
def test_each_excerpt_of_a_shipped_file_is_in_it(text: str) -> None:
    """`# flows/NAME.yaml` (a piece), or `(excerpt)` of a flow: every line as it is there."""
    named = re.match(r"# (flows/\S+\.yaml)", text)
    assert named
    shipped = [
        line.split(" #")[0].rstrip() for line in (REPO / named.group(1)).read_text().splitlines()
    ]
    for line in text.splitlines()[1:]:
        code = line.split(" #")[0].rstrip()
        assert not code or code in shipped, f"'{code}' is not in {named.group(1)}"
    if "(excerpt)" not in text.splitlines()[0]:
        check_file(str(REPO / named.group(1)))  # a whole piece: it is valid


@pytest.mark.parametrize("text", blocks_of("test"))
def test_each_flow_test_excerpt_passes_against_its_flow(tmp_path: Path, text: str) -> None:
    named = re.match(r"# (flows/\S+\.test\.yaml)", text)
    assert named, "a test excerpt starts with a comment naming its file"
    excerpt = tmp_path / "excerpt.test.yaml"
    flow = REPO / named.group(1).replace(".test.yaml", ".yaml")
    excerpt.write_text(f"flow: {flow}\n{text}", encoding="utf-8")
    test_file = load_test_file(str(excerpt))
    compiled = compile_flow(load_flow(test_file.flow_path))
    shipped = (REPO / named.group(1)).read_text(encoding="utf-8")
    for case in test_file.cases:
        assert f"name: {case.name}" in shipped, f"'{case.name}' is not in {named.group(1)}"
        assert run_case(compiled, case).passed, case.name


def test_the_readme_shows_a_picture_scripts_pictures_draws() -> None:
    """It is kept current by tests/unit/test_pictures.py."""
    pictures = re.findall(r"!\[[^]]*\]\(([^)]+)\)", README)
    assert pictures == ["docs/pictures/channel-state.svg"]
    assert (REPO / pictures[0]).is_file()


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as dashes."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(doc: str) -> set[str]:
    prose = re.sub(r"```.*?```", "", doc, flags=re.S)  # a `# comment` in a block is no heading
    return {_anchor(heading) for heading in re.findall(r"^#+ (.*)$", prose, re.M)}


@pytest.mark.parametrize("name", sorted(DOCS))
def test_each_link_leads_to_a_file_and_a_heading_that_exist(name: str) -> None:
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", re.sub(r"```.*?```", "", DOCS[name], flags=re.S)):
        if target.startswith(("http://", "https://")):
            continue
        path, _, fragment = target.partition("#")
        file = (REPO / name).parent / path if path else REPO / name
        found = file.exists() and (
            not fragment or fragment in _anchors(file.read_text(encoding="utf-8"))
        )
        if not found:
            broken.append(target)
    assert broken == []


def test_each_test_of_the_flow_above_passes_against_it(tmp_path: Path) -> None:
    blocks = yaml_blocks()
    paired = [(blocks[i - 1], block) for i, block in enumerate(blocks) if block[1] == "paired"]
    assert paired, "docs/flow-tests.md shows a flow with its tests"
    for (_, kind, flow), (where, _, tests) in paired:
        assert kind == "flow", f"{where}: the block before is not a whole flow"
        (tmp_path / "flow.yaml").write_text(flow, encoding="utf-8")
        (tmp_path / "flow.test.yaml").write_text(tests, encoding="utf-8")
        test_file = load_test_file(str(tmp_path / "flow.test.yaml"))
        compiled = compile_flow(load_flow(test_file.flow_path))
        assert all(run_case(compiled, case).passed for case in test_file.cases), where
