"""Profiles and config files: the user's typos get a message naming the key."""

from pathlib import Path

import pytest

from reportgen.config import DEFAULT_PROFILE, FRAMEWORKS, PROFILES, get_profile, load_config
from reportgen.errors import ReportgenError


def test_every_contract_profile_exists_and_quick_is_default() -> None:
    assert set(PROFILES) == {"smoke", "quick", "standard", "full"}
    assert DEFAULT_PROFILE == "quick"
    assert get_profile("smoke").inference.timing.min_count <= get_profile("full").inference.timing.min_count


def test_unknown_profile_lists_the_valid_ones() -> None:
    with pytest.raises(ReportgenError, match="unknown profile 'fast'.*smoke, quick, standard, full"):
        get_profile("fast")


def test_config_overrides_nested_values(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('profile = "smoke"\nthreads = 1\n[inference]\nbatch_sizes = [1, 8]\n'
                   "[inference.timing]\nmin_count = 7\nmin_time_s = 1\n")
    profile = load_config(cfg, get_profile("smoke"))
    assert profile.threads == 1
    assert profile.inference.batch_sizes == (1, 8)
    assert profile.inference.timing.min_count == 7
    assert profile.inference.timing.min_time_s == 1.0 and isinstance(profile.inference.timing.min_time_s, float)
    assert profile.inference.timing.warmup == get_profile("smoke").inference.timing.warmup


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[inference.timing]\nmin_cnt = 3\n", "unknown key 'inference.timing.min_cnt'"),
        ("thread = 2\n", "unknown key 'thread'"),
        ("[inference]\nimage_size = 'big'\n", "'inference.image_size' must be int, got str"),
        ("[inference]\nbatch_sizes = 4\n", "'inference.batch_sizes' must be a non-empty list of int"),
        ("[inference]\nbatch_sizes = [1, 2.5]\n", "'inference.batch_sizes' must be int"),
        ("timeout_s = true\n", "'timeout_s' must be float, got bool"),
        ("inference = 3\n", "'inference' must be a table"),
        ("threads = -1\n", "'threads' must not be negative"),
        ("threads = [\n", "not valid TOML"),
        ("[inference.sweep_timing]\nmin_time_s = 20.0\n",
         ": inference.sweep_timing.min_time_s .20.0. must not exceed inference.sweep_timing.max_time_s"),
        ("[roof.timing]\nmin_count = 0\n", "roof.timing.min_count must be at least 1, got 0"),
        ("leaves_out = ['pytorch']\n", "leaves_out: unknown framework 'pytorch'; choose from: torch, tensorflow"),
    ],
)
def test_config_errors_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    with pytest.raises(ReportgenError, match=message.replace("[", r"\[").replace("(", r"\(")):
        load_config(cfg, get_profile("quick"))


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ReportgenError, match="cannot read"):
        load_config(tmp_path / "nope.toml", get_profile("quick"))


def test_a_config_can_bring_back_what_quick_leaves_out(tmp_path: Path) -> None:
    """``leaves_out = []`` makes a quick run measure every family without naming them on the command line."""
    cfg = tmp_path / "all.toml"
    cfg.write_text("leaves_out = []\n")
    assert get_profile("quick").frameworks != list(FRAMEWORKS)
    assert load_config(cfg, get_profile("quick")).frameworks == list(FRAMEWORKS)
