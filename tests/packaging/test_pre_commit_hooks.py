"""The hooks of .pre-commit-hooks.yaml, run by the real pre-commit on a throw-away repository
that keeps flows, as a project using flowrunner would (`pre-commit try-repo` installs the hooks
from this checkout, as `repo:` would from GitHub)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]
PRE_COMMIT = [sys.executable, "-m", "pre_commit"]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository with a flow, its tests, and a broken flow."""
    root = tmp_path_factory.mktemp("project")
    (root / "flows").mkdir()
    for name in ("channel-state.yaml", "channel-state.test.yaml"):
        shutil.copy(REPO / "flows" / name, root / "flows" / name)
    (root / "flows" / "broken.yaml").write_text(
        "version: 1\napp: broken\ninitial: start\nstates:\n  start:\n    do: [Playback]\n"
    )
    (root / "README.md").write_text("not: [a flow\n")  # outside flows/: not the hooks' business
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "."], cwd=root, check=True)
    return root


def try_hook(project: Path, hook: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(project.parent / "pre-commit-home")}
    command = [*PRE_COMMIT, "try-repo", str(REPO), hook, "--all-files"]
    return subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, timeout=900
    )


def test_the_validate_hook_reports_a_broken_flow_at_its_line(project: Path) -> None:
    done = try_hook(project, "flowrunner-validate")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "flowrunner validate" in done.stdout
    assert (
        "flows/broken.yaml:6:10: states.start.do[0]: unknown action 'Playback'; Asterisk's "
        "Playback is play here" in done.stdout
    )
    assert "README.md" not in done.stdout


def test_the_hooks_pass_on_good_flows_and_run_their_tests(project: Path) -> None:
    (project / "flows" / "broken.yaml").unlink()
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    validated = try_hook(project, "flowrunner-validate")
    assert validated.returncode == 0, validated.stdout + validated.stderr
    tested = try_hook(project, "flowrunner-test")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "flowrunner test" in tested.stdout
    assert "Passed" in tested.stdout
