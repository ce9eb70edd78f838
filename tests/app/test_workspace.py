"""One writer per workspace: a second writer is refused at once, a lock left by a dead process is free."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from potential.app.workspace import LOCK_NAME
from tests.cli_helpers import run_cli, tree_digest

HOLD = """
import sys, time
from potential.app.workspace import holding
with holding(sys.argv[1], "train"):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_second_writer_is_refused_at_once_and_named(data_dir, tmp_path, capsys):
    ws = tmp_path / "ws"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(ws)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        before = tree_digest(ws)
        started = time.perf_counter()
        code, _, err = run_cli(["run", "--data", data_dir, "--as-of", "2025-06-01", "--out", ws], capsys)
        assert code == 2
        assert f"workspace busy (pid {holder.pid}, potential train, since " in err
        assert time.perf_counter() - started < 10  # refused before loading or training anything
        assert tree_digest(ws) == before
    finally:
        holder.kill()
        holder.wait()
    # the kernel freed the killed holder's lock: the next writer goes ahead
    code, _, err = run_cli(["backtest", "--data", data_dir, "--as-of", "2023-02-01", "--out", ws], capsys)
    assert "busy" not in err


def test_a_lock_file_left_without_a_holder_is_taken_over(tmp_path):
    from potential.app.workspace import holding

    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / LOCK_NAME).write_text(json.dumps({"pid": 999999, "command": "run", "since": "2020-01-01"}))
    with holding(ws, "rank"):
        record = json.loads((ws / LOCK_NAME).read_text())
        assert record["command"] == "rank"
        with holding(ws, "report"):  # a stage of the same command: no second lock
            pass
    assert not (ws / LOCK_NAME).exists()  # released: no trace left


def test_a_refused_command_leaves_no_workspace_behind(tmp_path, capsys):
    ws = tmp_path / "new-ws"
    code, _, err = run_cli(
        ["train", "--data", tmp_path / "missing", "--as-of", "2025-06-01", "--out", ws], capsys
    )
    assert code == 2 and "missing" in err
    assert not ws.exists()


def test_out_that_is_a_file_is_refused_before_any_work(data_dir, tmp_path, capsys):
    target = tmp_path / "not-a-folder"
    target.write_text("x")
    code, _, err = run_cli(["train", "--data", data_dir, "--as-of", "2025-06-01", "--out", target], capsys)
    assert code == 2 and "is a file, not a folder" in err
