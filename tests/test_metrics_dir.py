"""gunicorn's metrics directory (stocks/metrics_dir.py); under a live gunicorn:
tests/deploy/test_metrics_workers.py."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from stocks import metrics_dir


def test_fold__a_fold_interrupted_by_another_leaves_it_the_pid(monkeypatch, tmp_path):
    """SIGCHLD can arrive while the master folds: the nested call must not wait for the
    lock the outer one holds (it would wait for ever); the outer one folds its pid."""
    folded = []

    def fold_one(directory, pid):
        if pid == 1:
            metrics_dir.fold(directory, 2)  # the second worker's exit, mid-fold
        folded.append(pid)

    monkeypatch.setattr(metrics_dir, "_fold_one", fold_one)
    metrics_dir.fold(str(tmp_path), 1)
    assert folded == [1, 2]


def test_choose__a_temporary_directory_named_for_removal(monkeypatch):
    monkeypatch.delenv(metrics_dir.OWNER, raising=False)
    monkeypatch.delenv(metrics_dir.VARIABLE, raising=False)
    directory = metrics_dir.choose(None)
    try:
        assert os.path.isdir(directory)
        assert os.environ[metrics_dir.VARIABLE] == os.environ[metrics_dir.OWNER] == directory
        assert metrics_dir.current() == directory
        assert metrics_dir.choose(None) == directory  # a reload keeps it
    finally:
        metrics_dir.remove(directory)
        for name in (metrics_dir.VARIABLE, metrics_dir.OWNER):
            os.environ.pop(name, None)  # before any metric is touched again in this process
    assert not os.path.exists(directory)


def test_remove__never_an_operators_directory(tmp_path):
    (tmp_path / "counter_1.db").write_bytes(b"")
    metrics_dir.remove(str(tmp_path))
    assert tmp_path.exists()


@pytest.mark.parametrize("inherited", ["/elsewhere", ""])
def test_current__only_gunicorns_own(monkeypatch, inherited):
    with monkeypatch.context() as env:  # undone before the metrics are cleared
        env.setenv(metrics_dir.VARIABLE, "/somewhere")
        env.setenv(metrics_dir.OWNER, inherited)
        assert metrics_dir.current() is None


def test_choose__a_new_master_makes_its_own(monkeypatch):
    """USR2 starts a new master with the old one's environment: it must not share (and at
    exit remove) the old one's directory."""
    with monkeypatch.context() as env:
        env.delenv(metrics_dir.VARIABLE, raising=False)
        env.delenv(metrics_dir.OWNER, raising=False)
        old = metrics_dir.choose(None)
        (Path(old) / metrics_dir.MASTER_FILE).write_text("1")  # the old master's pid
        new = metrics_dir.choose(None)
        try:
            assert new != old
            metrics_dir.remove(old)  # not this master's: kept
            assert os.path.isdir(old)
        finally:
            for directory in (old, new):
                shutil.rmtree(directory, ignore_errors=True)
            for name in (metrics_dir.VARIABLE, metrics_dir.OWNER):
                os.environ.pop(name, None)


def test_fold__a_fold_cut_short_leaves_nothing_behind(tmp_path):
    stale = tmp_path / "counter_archive.db.new"
    stale.write_bytes(b"garbage")
    (tmp_path / "counter_7.db").write_bytes(b"")
    metrics_dir.empty(str(tmp_path))
    assert list(tmp_path.iterdir()) == []
