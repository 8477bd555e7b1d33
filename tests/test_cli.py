"""The command line: help that explains, one-line errors with a non-zero exit, never a traceback."""

import json
import shutil
from pathlib import Path

import pytest
from conftest import reportgen

from reportgen.cli import main


def test_help_explains_every_command() -> None:
    proc = reportgen("--help")
    assert proc.returncode == 0
    for command in ("run", "build", "serve", "env", "export"):
        assert command in proc.stdout
    run_help = reportgen("run", "--help").stdout
    for flag in ("--profile", "--device", "--frameworks", "--results-dir", "--site-dir", "--resume", "--config"):
        assert flag in run_help
    assert "smoke" in run_help and "quick" in run_help


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["run", "--profile", "huge"], "unknown profile 'huge'"),
        (["run", "--frameworks", "pytorch"], "unknown framework 'pytorch'"),
        (["run", "--frameworks", "all", "pytorch"], "unknown framework 'pytorch'"),
        (["run", "--frameworks", ","], "no framework to measure"),
        (["run", "--device", "tpu"], "unknown device 'tpu'"),
        (["run", "--threads", "-2"], "--threads must be"),
        (["export", "--format", "xml"], "invalid choice: 'xml'"),
    ],
)
def test_bad_input_is_one_line(args: list[str], match: str, capsys: pytest.CaptureFixture[str],
                               tmp_path: Path) -> None:
    if args[0] == "export":
        with pytest.raises(SystemExit) as exc:
            main(args + ["--results-dir", str(tmp_path)])
        assert exc.value.code == 2
    else:
        assert main(args + ["--results-dir", str(tmp_path / "r"), "--site-dir", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert match in err, err
    assert not (tmp_path / "r").exists()  # nothing was started


def test_cuda_without_gpu_is_a_one_line_error(tmp_path: Path) -> None:
    if shutil.which("nvidia-smi"):
        pytest.skip("this machine has an NVIDIA GPU")
    proc = reportgen("run", "--device", "cuda", "--results-dir", str(tmp_path / "r"), "--site-dir",
                     str(tmp_path / "s"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "reportgen: error: --device cuda: no NVIDIA GPU found (nvidia-smi is missing or lists none); "
        "use --device cpu or --device auto"]


def test_config_typo_names_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[inference.timing]\nmin_cuont = 5\n")
    assert main(["run", "--config", str(cfg), "--results-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'inference.timing.min_cuont'" in err and err.count("\n") == 1


def test_unwritable_results_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert main(["run", "--profile", "smoke", "--results-dir", str(blocker / "results")]) == 2
    err = capsys.readouterr().err
    assert "results directory" in err and "is not writable" in err and err.count("\n") == 1


def test_unwritable_site_dir_fails_before_measuring(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert main(["run", "--profile", "smoke", "--results-dir", str(tmp_path / "r"),
                 "--site-dir", str(blocker / "site")]) == 2
    err = capsys.readouterr().err
    assert "site directory" in err and "is not writable" in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists()  # nothing was measured or stored


def test_export_without_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--results-dir", str(tmp_path)]) == 2
    assert "no results to export" in capsys.readouterr().err


def test_export_unknown_run(stored_run, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--results-dir", str(stored_run.results), "--run", "20990101T000000Z-0000"]) == 2
    assert "no run '20990101T000000Z-0000'" in capsys.readouterr().err


def test_serve_without_site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--site-dir", str(tmp_path)]) == 2
    assert "no built site" in capsys.readouterr().err


def test_env_json_reports_machine_and_device() -> None:
    proc = reportgen("env", "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["machine_id"] and info["cpu"]["model"] and "libraries" in info
    assert info["device (auto)"] in ("cpu", "cuda")
    table = reportgen("env")
    assert table.returncode == 0 and "machine_id" in table.stdout
