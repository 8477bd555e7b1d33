"""The publish path, run here: the workflow's own script against a bare repository standing in for origin.

``scripts/publish_results.sh`` is what ``.github/workflows/publish.yml`` runs after downloading each
machine's artifact; these tests run the very same script, then build the site the way the workflow does.
The workflows themselves are checked with zizmor and the GitHub workflow schema.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import SmokeRun
from test_merge import make_run

from reportgen.report.site import build_site
from reportgen.store.results import ResultStore
from reportgen.testing import derive_run, parse_utc

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "publish_results.sh"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
OTHER = "other-box-8c-32g-cpu-0a1b2c"
BRANCH = "results-data"

pytestmark = pytest.mark.skipif(shutil.which("git") is None or shutil.which("bash") is None,
                                reason="needs git and bash")


def git_env() -> dict[str, str]:
    """The environment of every git command here: no user or system configuration, no inherited repository."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return {**env, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def git(*args: str, cwd: Path | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, env=git_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stdout}{proc.stderr}"
    return proc.stdout


class Origin:
    """A bare repository with a ``main`` branch, standing in for the GitHub repository."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / "origin.git"
        git("init", "--quiet", "--bare", "--initial-branch=main", str(self.path))
        seed = root / "seed"
        git("init", "--quiet", "--initial-branch=main", str(seed))
        (seed / "README.md").write_text("the project\n")
        (seed / ".gitignore").write_text("/results/\n/site/\n")  # as in the project: results stay out of main
        git("add", "README.md", ".gitignore", cwd=seed)
        git("-c", "user.name=dev", "-c", "user.email=dev@example.com", "commit", "--quiet", "-m", "project", cwd=seed)
        git("push", "--quiet", str(self.path), "main", cwd=seed)
        self.main = self.tip("main")
        self.bin = root / "bin"  # `reportgen` on PATH, as the workflow puts .venv/bin there
        self.bin.mkdir()
        shim = self.bin / "reportgen"
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m reportgen "$@"\n')
        shim.chmod(0o755)
        self.runs = 0

    def tip(self, branch: str) -> str:
        return git("--git-dir", str(self.path), "rev-parse", f"refs/heads/{branch}").strip()

    def refs(self) -> list[str]:
        return git("--git-dir", str(self.path), "for-each-ref", "--format=%(refname)").split()

    def log(self) -> list[tuple[str, str, str]]:
        """(commit, parents, subject) of each commit on results-data, newest first."""
        out = git("--git-dir", str(self.path), "log", "--format=%H%x09%P%x09%s", f"refs/heads/{BRANCH}")
        return [tuple(line.split("\t")) for line in out.splitlines()]  # type: ignore[misc]

    def files(self) -> dict[str, bytes]:
        """Every file on the tip of results-data, with its bytes."""
        names = git("--git-dir", str(self.path), "ls-tree", "-r", "--name-only", f"refs/heads/{BRANCH}").split()
        return {name: subprocess.run(["git", "--git-dir", str(self.path), "show", f"refs/heads/{BRANCH}:{name}"],
                                     env=git_env(), capture_output=True, check=True).stdout for name in names}

    def publish(self, artifacts: list[Path]) -> tuple[subprocess.CompletedProcess[str], Path]:
        """What the publish job does on a fresh runner: shallow checkout, download the artifacts, run the script."""
        self.runs += 1
        runner = self.root / f"runner-{self.runs}"
        git("clone", "--quiet", "--depth", "1", self.path.as_uri(), str(runner))
        # download-artifact puts each artifact in a folder of its name, except when there is only one
        for i, artifact in enumerate(artifacts):
            shutil.copytree(artifact, runner / "downloaded" / ("" if len(artifacts) == 1 else f"results-{i}"))
        (runner / "downloaded").mkdir(exist_ok=True)
        env = {**git_env(), "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}",
               "PUBLISH_MESSAGE": f"Results of run {self.runs}"}
        proc = subprocess.run(["bash", str(SCRIPT), "history", "downloaded"], cwd=runner, env=env,
                              capture_output=True, text=True, timeout=300)
        return proc, runner


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def artifact(root: Path, run: dict, source: Path | None = None) -> Path:
    """A measure job's artifact: ``<machine-id>/<run-id>.json``, byte for byte the stored file when given."""
    folder = root / f"artifact-{run['machine_id']}-{run['run_id']}"
    path = ResultStore(folder).save(run)
    if source is not None:
        shutil.copyfile(source, path)
    return folder


@pytest.fixture(scope="module")
def two_machines(stored_run: SmokeRun, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two artifacts: the stored smoke run, and a copy of it on a second machine (twice as fast)."""
    results = stored_run.results
    loaded = ResultStore(results).load_all()
    base = loaded.runs[-1]
    root = tmp_path_factory.mktemp("artifacts")
    other = derive_run(base, machine_id=OTHER, started=parse_utc(base["started_at"]) + timedelta(hours=1),
                       factor=0.5, cpu_model="Other CPU 8-core")
    return [artifact(root, base, ResultStore(results).path_for(base)), artifact(root, other)]


def page_text(page: Path) -> str:
    return re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8"))


def result_files(*artifacts: Path) -> dict[str, bytes]:
    """What results-data should hold after publishing ``artifacts``: their files under ``results/``."""
    return {f"results/{k}": v for a in artifacts for k, v in snapshot(a).items()}


def check_site(runner: Path, artifacts: list[Path]) -> None:
    """Build the site from the merged history as the workflow does and check Compare and History."""
    runs = [ResultStore(a).load_all().runs[0] for a in artifacts]
    site = runner / "site"
    loaded = build_site(runner / "history" / "results", site)
    assert not loaded.problems
    assert sorted(r["run_id"] for r in loaded.runs) == sorted(r["run_id"] for r in runs)
    compare, history = page_text(site / "compare.html"), (site / "history.html").read_text(encoding="utf-8")
    for run in runs:
        assert run["machine_id"] in compare
        assert f'<h2 id="{run["machine_id"]}">' in history and run["run_id"] in page_text(site / "history.html")
    if len(runs) == 1:
        assert "Only one machine so far" in compare
    else:
        assert "Only one machine so far" not in compare and "Other CPU 8-core" in compare
        assert 'id="compare-latency-ms-p50-spec"' in (site / "compare.html").read_text(encoding="utf-8")


def test_first_publish_then_a_second_machine_then_a_rerun(tmp_path: Path, two_machines: list[Path]) -> None:
    origin = Origin(tmp_path)
    first, second = two_machines

    # 1. The first publish: no results-data branch yet; it is created with one commit and no parent.
    proc, runner = origin.publish([first])
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert f"no {BRANCH} branch on origin yet" in out and "1 added, 0 already there, 0 rejected" in out
    ((commit1, parents, subject),) = origin.log()
    assert parents == "" and subject == "Results of run 1"
    assert origin.files() == result_files(first)  # only results, none of main's files, byte for byte
    assert sorted(origin.refs()) == ["refs/heads/main", f"refs/heads/{BRANCH}"] and origin.tip("main") == origin.main
    assert snapshot(runner / "history" / "results") == snapshot(first)
    assert git("status", "--porcelain", cwd=runner / "history") == ""  # the worktree is the pushed commit
    check_site(runner, [first])

    # 2. The next run has both machines: the first machine's file is already there, the second's is added.
    proc, runner = origin.publish([first, second])
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "1 added, 1 already there, 0 rejected" in out
    assert [(p, s) for _, p, s in origin.log()] == [(commit1, "Results of run 2"), ("", "Results of run 1")]
    assert origin.files() == result_files(first, second)
    assert snapshot(runner / "history" / "results") == {**snapshot(first), **snapshot(second)}
    check_site(runner, [first, second])
    tip = origin.tip(BRANCH)

    # 3. A re-run with the same artifacts adds nothing: no commit, the branch does not move.
    proc, runner = origin.publish([first, second])
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "0 added, 2 already there, 0 rejected" in out and f"Nothing new for {BRANCH}" in out
    assert origin.tip(BRANCH) == tip and len(origin.log()) == 2
    assert origin.files() == result_files(first, second)
    check_site(runner, [first, second])
    assert origin.tip("main") == origin.main


def test_a_rejected_file_fails_the_publish_but_keeps_the_rest(tmp_path: Path) -> None:
    origin = Origin(tmp_path)
    stored = make_run("box-a-2c-4g-cpu-aaaaaa")
    first = artifact(tmp_path, stored)
    proc, _ = origin.publish([first])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    before = origin.files()

    changed = artifact(tmp_path / "changed", {**stored, "seed": 1})  # same machine and run id, other content
    new = artifact(tmp_path, make_run("box-b-8c-32g-cpu-bbbbbb"))
    broken = tmp_path / "broken"
    (broken / "box-c-2c-4g-cpu-cccccc").mkdir(parents=True)
    (broken / "box-c-2c-4g-cpu-cccccc" / "20261125T033000Z-1a2b.json").write_text("{ truncated")
    proc, _ = origin.publish([changed, new, broken])
    out = proc.stdout + proc.stderr
    name = f"box-a-2c-4g-cpu-aaaaaa/{stored['run_id']}.json"
    files = origin.files()  # nothing stored is replaced, and what was fine is pushed...
    assert files[f"results/{name}"] == snapshot(first)[name] == before[f"results/{name}"]
    assert files == {**before, **result_files(new)} and len(origin.log()) == 2
    assert proc.returncode == 2, out  # ...but the job fails loudly,
    conflict = [line for line in out.splitlines() if "conflicts with" in line]
    assert len(conflict) == 1 and f"downloaded/results-0/{name}" in conflict[0]
    assert f"history/results/{name}" in conflict[0]  # naming both files
    assert "downloaded/results-2/box-c-2c-4g-cpu-cccccc/20261125T033000Z-1a2b.json: not valid JSON" in out
    assert "1 added, 0 already there, 2 rejected" in out


def test_a_first_publish_without_results_creates_no_branch(tmp_path: Path) -> None:
    origin = Origin(tmp_path)
    proc, _ = origin.publish([])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Nothing to publish" in proc.stdout and origin.refs() == ["refs/heads/main"]


def test_an_unreachable_origin_is_not_a_first_publish(tmp_path: Path) -> None:
    origin = Origin(tmp_path)
    proc, runner = origin.publish([])
    git("remote", "set-url", "origin", (tmp_path / "gone.git").as_uri(), cwd=runner)
    proc = subprocess.run(["bash", str(SCRIPT), "history2", "downloaded"], cwd=runner, env=git_env(),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode not in (0, 2) and "cannot read origin" in proc.stderr
    assert not (runner / "history2").exists()


# --- the workflow files ---------------------------------------------------------------------------------------


def tool(name: str) -> str:
    """The path of a command-line tool from the test extra, next to this Python or on PATH; skip if missing."""
    path = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return path


def test_zizmor_finds_nothing_above_informational() -> None:
    proc = subprocess.run([tool("zizmor"), "--offline", "--format", "json", "--min-severity", "low",
                           *map(str, WORKFLOWS)], capture_output=True, text=True, timeout=120)
    findings = json.loads(proc.stdout or "[]")
    assert findings == [] and proc.returncode == 0, "\n".join(
        f"{f['ident']}: {f['desc']} ({f['determinations']['severity']})" for f in findings) or proc.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_follows_the_github_schema(workflow: Path) -> None:
    proc = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(workflow)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_by_commit_with_the_version_in_a_comment(workflow: Path) -> None:
    uses = re.findall(r"^\s*(?:-\s+)?uses:\s*(.+)$", workflow.read_text(encoding="utf-8"), re.M)
    assert uses
    for ref in uses:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+", ref), ref


def test_the_workflow_publishes_through_the_tested_script() -> None:
    text = (ROOT / ".github" / "workflows" / "publish.yml").read_text(encoding="utf-8")
    assert "bash scripts/publish_results.sh history downloaded" in text
    assert "cp -r" not in text and "|| true" not in text
