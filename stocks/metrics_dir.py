"""
The directory gunicorn's workers keep their Prometheus figures in (prometheus-client's
multiprocess mode), through gunicorn's life: chosen before the app is imported, emptied once
at start (never on a reload), the files of each dead worker folded into one archive, and
removed at exit when gunicorn made it. gunicorn.conf.py calls these; nothing else should.

Only gunicorn's own directory is honoured: ``OWNER`` names it, and settings.py drops a
``PROMETHEUS_MULTIPROC_DIR`` any other process inherits (a Celery worker or ``manage.py``
run from the same environment), so their figures stay their own and never pollute the
server's sums.

Folding keeps a scrape's cost flat however many workers were recycled: without it each
recycled worker leaves its counter and histogram files for good (about 1,700 a day at 1,000
requests a second with the default recycling), and every scrape reads them all. A scrape and
a fold exclude each other (``locked``), so no scrape sees a worker's counts twice or not at
all.
"""

from __future__ import annotations

import fcntl
import glob
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"  # what prometheus-client reads
OWNER = "STOCKSCANNER_GUNICORN_METRICS_DIR"  # set with it by gunicorn.conf.py
MADE_PREFIX = "stockscanner-metrics-"
LOCK_FILE = ".lock"
MASTER_FILE = ".master"  # the pid of the gunicorn master that uses the directory
FOLDED = ("counter", "histogram")  # the kinds whose dead workers' values stay in the totals


def choose(configured: str | None) -> str:
    """
    The directory: ``configured`` (METRICS_DIR); the one this master chose already (a HUP
    reads gunicorn.conf.py again); else a new one. A new master started by USR2 inherits the
    old one's environment, not its directory: it makes its own (the old master removes its
    own at exit, and must not take the new one's with it).
    """
    inherited = os.environ.get(OWNER)
    if configured:
        directory = configured
    elif inherited and _master_of(inherited) == os.getpid():
        directory = inherited
    else:
        directory = tempfile.mkdtemp(prefix=MADE_PREFIX)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, MASTER_FILE), "w") as master:
        master.write(str(os.getpid()))
    os.environ[VARIABLE] = os.environ[OWNER] = directory
    return directory


def _master_of(directory: str) -> int | None:
    try:
        with open(os.path.join(directory, MASTER_FILE)) as master:
            return int(master.read().strip())
    except (OSError, ValueError):
        return None


def current() -> str | None:
    """The directory, if this process is one of gunicorn's and it still exists."""
    directory = os.environ.get(VARIABLE)
    return directory if directory and directory == os.environ.get(OWNER) else None


def empty(directory: str) -> None:
    """Forget an earlier run's figures (at start only: a reload keeps the totals)."""
    for path in glob.glob(os.path.join(directory, "*.db")) + glob.glob(
        os.path.join(directory, "*.db.new")  # a fold cut short
    ):
        os.remove(path)


def ensure(directory: str) -> None:
    """Recreate the directory if something removed it (a temp cleaner): a worker needs it."""
    os.makedirs(directory, exist_ok=True)


@contextmanager
def locked(directory: str, *, exclusive: bool) -> Iterator[None]:
    try:
        handle = open(os.path.join(directory, LOCK_FILE), "a+")  # noqa: SIM115 - held below
    except OSError:  # the directory is gone: nothing to exclude
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_pending: list[int] = []
_folding = False


def fold(directory: str, pid: int) -> None:
    """
    Merge dead worker ``pid``'s counters and histograms into the archive of each kind.

    gunicorn calls this from its SIGCHLD handler, which another SIGCHLD can interrupt: a
    second fold would then wait for the lock the first one holds, in the same thread, for
    ever. So a fold that finds one running leaves its pid to it.
    """
    global _folding
    _pending.append(pid)
    if _folding:
        return
    _folding = True
    try:
        while _pending:
            _fold_one(directory, _pending.pop(0))
    finally:
        _folding = False


def _fold_one(directory: str, pid: int) -> None:
    from prometheus_client import multiprocess
    from prometheus_client.mmap_dict import MmapedDict, mmap_key

    with locked(directory, exclusive=True):
        for kind in FOLDED:
            dead = os.path.join(directory, f"{kind}_{pid}.db")
            if not os.path.exists(dead):
                continue
            archive = os.path.join(directory, f"{kind}_archive.db")
            sources = [dead, *([archive] if os.path.exists(archive) else [])]
            merged = multiprocess.MultiProcessCollector.merge(sources, accumulate=False)
            fresh = archive + ".new"
            if os.path.exists(fresh):  # a fold cut short: never build on it
                os.remove(fresh)
            store = MmapedDict(fresh)
            try:
                for metric in merged:
                    for sample in metric.samples:
                        key = mmap_key(
                            metric.name, sample.name, tuple(sample.labels),
                            tuple(sample.labels.values()), metric.documentation,
                        )  # fmt: skip
                        store.write_value(key, sample.value, sample.timestamp or 0.0)
            finally:
                store.close()
            os.replace(fresh, archive)
            os.remove(dead)


def remove(directory: str) -> None:
    """At exit: the directory goes if gunicorn made it and this master still uses it."""
    if os.path.basename(directory).startswith(MADE_PREFIX) and _master_of(directory) in (
        os.getpid(),
        None,
    ):
        shutil.rmtree(directory, ignore_errors=True)
