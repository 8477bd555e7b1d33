"""The stored smoke run the publish-side tests read is a real run, unedited, and still speaks today's catalog."""

import sys
from pathlib import Path

from conftest import FIXTURE_RESULTS

from reportgen import catalog
from reportgen.store.results import ResultStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from make_fixture import CHECKSUM, checksum_lines  # noqa: E402

REGENERATE = "regenerate it with `make fixture` (scripts/make_fixture.py) and commit both files"


def test_fixture_is_the_file_the_smoke_run_wrote() -> None:
    assert checksum_lines(FIXTURE_RESULTS) == CHECKSUM.read_text(encoding="utf-8"), \
        f"tests/fixtures/results was edited by hand: {REGENERATE}"


def test_fixture_loads_and_knows_only_cataloged_variants() -> None:
    loaded = ResultStore(FIXTURE_RESULTS).load_all()
    assert loaded.problems == [], f"the stored run no longer matches the results schema: {REGENERATE}"
    (run,) = loaded.runs
    assert run["profile"]["name"] == "smoke" and run["status"] == "complete"
    timed = {(r["framework"], r["variant"]) for r in run["records"] if r["scenario"] == "inference"}
    unknown = {key for key in timed if catalog.find(*key) is None}
    assert not unknown, f"the stored run times variants the catalog no longer has {sorted(unknown)}: {REGENERATE}"
