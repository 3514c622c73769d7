"""The feature task types in a real run: import -> samples and deploy -> online import."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from shoal.client import Client
from shoal.features import catalog
from tests.engine.conftest import client, outputs, states  # noqa: F401 - fixtures
from tests.features.conftest import ROOT


@pytest.mark.slow
def test_example_workflow_runs_end_to_end(client: Client, talkingdata_csv: Path, tmp_path: Path) -> None:  # noqa: F811
    wf = tmp_path / "wf"
    wf.mkdir()
    for name in ("features.sql", "features.yaml"):
        shutil.copy(ROOT / "examples" / "talkingdata" / name, wf / name)
    shutil.copy(talkingdata_csv, wf / "talkingdata.csv")
    (result,) = client.apply_path(wf / "features.yaml")
    info = client.run(result.name, wait=True, timeout=120)
    assert states(info) == {t: "success" for t in ("import_clicks", "samples", "deploy", "load_online")}, info
    assert outputs(info, "import_clicks")["rows"] == 3000
    samples = outputs(info, "samples")
    assert samples["rows"] == 3000 and "ip_clicks_1d" in samples["features"]
    assert Path(str(samples["path"])).is_relative_to(Path(client.store.settings.artifacts_url))
    n = duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{samples['path']}')").fetchone()[0]
    assert n == 3000
    assert outputs(info, "deploy") == {"feature_set": "talkingdata", "version": 1, "changed": True}
    # Rows read from the table, and rows stored: one copy per index (PARTITION BY) that keeps it.
    assert outputs(info, "load_online")["rows"] == 3000

    # The tasks wrote to this run's store: the online rows are there for request mode.
    online = catalog.open_online_store(client.store.settings)
    _, fs = catalog.open_feature_set(client.store, online, "talkingdata")
    assert fs.stats()["rows"] == outputs(info, "load_online")["rows_stored"]

    # A second run: same SQL, so deploy changes nothing; the table gets version 2.
    again = client.run(result.name, wait=True, timeout=120, date="2017-11-09")  # type: ignore[arg-type]
    assert outputs(again, "deploy")["changed"] is False
    assert outputs(again, "import_clicks")["version"] == 2


def test_bad_params_fail_at_apply(client: Client, tmp_path: Path) -> None:  # noqa: F811
    import pytest

    from shoal.spec.errors import SpecError

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad_features\ntasks:\n  - name: imp\n    type: data_import\n    table: t\n"
        "  - name: ex\n    type: feature_extract\n    sql: SELECT 1\n    sql_file: x.sql\n    output: o.parquet\n"
    )
    with pytest.raises(SpecError) as err:
        client.apply_path(bad)
    text = str(err.value)
    assert "exactly one of 'path'" in text and "exactly one of 'sql'" in text


def test_an_unreadable_sql_file_fails_the_task_with_its_message(tmp_path: Path) -> None:
    """Not UTF-8, or a directory: the task fails with the reason (TaskFailed), not a traceback."""
    from datetime import datetime

    import pytest

    from shoal.errors import TaskFailed
    from shoal.tasks.base import TaskContext
    from shoal.tasks.features import FeatureExtractParams

    (tmp_path / "latin1.sql").write_bytes(b"SELECT 'caf\xe9' AS c FROM t")
    (tmp_path / "folder.sql").mkdir()
    for name, words in (("latin1.sql", "is not UTF-8 text: byte 0xe9 at offset 11"),
                        ("folder.sql", "is a directory")):
        params = FeatureExtractParams(sql_file=name, output="s.parquet")
        ctx = TaskContext(params=params, run_id=1, task_run_id=1, task="samples", attempt=1, workflow="wf",
                          project="default", logical_date=datetime(2024, 1, 1), source_dir=str(tmp_path))
        with pytest.raises(TaskFailed, match=words):
            params.text(ctx)
