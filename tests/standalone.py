"""A throwaway Spark standalone cluster on 127.0.0.1: one master, N workers.

The JVMs come from the installed pyspark (``SPARK_HOME`` = the package folder). pip's
pyspark has no ``sbin/start-*.sh``, so each runs in the foreground through
``bin/spark-class`` (which ``exec``s java: the child *is* the JVM), in a process group
of its own, on ports found free a moment before. Everything is stopped when the
context ends, also when its body raises: SIGTERM to each group, then SIGKILL to what is
left, executors included. Started under ``setpriv --pdeathsig TERM`` (where present),
the JVMs also go when the test process is killed.

Logs: ``<work_dir>/logs/{master,worker-<i>}.log``; executors' in
``<work_dir>/worker-<i>/<app-id>/<executor-id>/``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
EXECUTOR_CLASS = "org.apache.spark.executor.CoarseGrainedExecutorBackend"


def spark_home() -> Path:
    """The installed pyspark's folder: it has ``bin/`` and ``jars/``."""
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def free_port() -> int:
    """A port free a moment ago (bind to 0, read, close: a small race, fine in tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _stat(pid: int) -> list[str]:
    """Fields after the command name of ``/proc/<pid>/stat`` ([] if gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def _alive(pid: int) -> bool:
    fields = _stat(pid)
    return bool(fields) and fields[0] != "Z"


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit() and (fields := _stat(int(name))):
            kids.setdefault(int(fields[1]), []).append(int(name))
    return kids


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid``."""
    kids, found, todo = _children(), [], [pid]
    while todo:
        for child in kids.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@dataclass
class Cluster:
    """A running cluster: its URL, and the processes to watch or kill."""

    master_url: str
    webui_url: str
    processes: list[subprocess.Popen]
    """The master first, then the workers."""
    work_dir: Path
    startup_seconds: float = 0.0

    def master_state(self) -> dict:
        with urllib.request.urlopen(f"{self.webui_url}/json/", timeout=5) as reply:
            return json.load(reply)

    def alive_workers(self) -> int:
        return sum(w.get("state") == "ALIVE" for w in self.master_state().get("workers", []))

    def executor_pids(self, worker: int) -> list[int]:
        """The executor JVMs worker ``worker`` (0-based) runs now."""
        parent = self.processes[1 + worker].pid
        return [
            pid
            for pid in _children().get(parent, [])
            if EXECUTOR_CLASS in _cmdline(pid) and _alive(pid)
        ]

    def wait_for_executor(self, worker: int, timeout: float, exclude: tuple[int, ...] = ()) -> int:
        """Wait until ``worker`` runs an executor not in ``exclude``; return its pid."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            fresh = [pid for pid in self.executor_pids(worker) if pid not in exclude]
            if fresh:
                return fresh[0]
            time.sleep(0.2)
        raise TimeoutError(f"no executor on worker {worker} within {timeout} s")

    def kill_executor(self, pid: int) -> None:
        """SIGKILL an executor JVM and its Python workers, like a machine failing."""
        for victim in [*descendants(pid), pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    if setpriv := shutil.which("setpriv"):
        # PR_SET_PDEATHSIG survives exec: if this process dies unannounced, the JVM
        # gets SIGTERM. Linux ties it to the starting *thread*: start from the main one.
        command = [setpriv, "--pdeathsig", "TERM", *command]
    with log.open("ab") as out:
        return subprocess.Popen(
            command,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def _identity(pid: int) -> tuple[int, str] | None:
    """``pid`` with its start time: a pid the kernel reused has another start time."""
    fields = _stat(pid)
    return (pid, fields[19]) if fields else None


def _group_exists(pgid: int) -> bool:
    """Whether any process still belongs to group ``pgid`` (then its id is not reused)."""
    return any(
        name.isdigit() and (fields := _stat(int(name))) and int(fields[2]) == pgid
        for name in os.listdir("/proc")
    )


def _stop(processes: list[subprocess.Popen], grace: float) -> None:
    """SIGTERM each group, wait up to ``grace`` s, then SIGKILL groups and stragglers.

    Pids are reused quickly on a busy machine: a group is signalled only while its
    leader is unreaped or a member is left, a straggler only while its start time is
    the recorded one, so no other process is ever hit.
    """
    stragglers = {
        _identity(pid) for p in processes if p.poll() is None for pid in descendants(p.pid)
    }
    for signum in (signal.SIGTERM, signal.SIGKILL):
        for process in processes:
            if process.poll() is None or _group_exists(process.pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signum)
        deadline = time.monotonic() + grace
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
    for straggler in stragglers - {None}:
        if _identity(straggler[0]) == straggler and _alive(straggler[0]):
            with contextlib.suppress(ProcessLookupError):
                os.kill(straggler[0], signal.SIGKILL)


@contextlib.contextmanager
def standalone_cluster(
    work_dir: Path,
    workers: int = 2,
    cores: int = 1,
    memory: str = "1500m",
    start_timeout: float = 240.0,
) -> Iterator[Cluster]:
    """Start a master and ``workers`` workers of ``cores`` cores and ``memory`` each."""
    started = time.monotonic()
    home = spark_home()
    logs = work_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "SPARK_HOME": str(home),
        "SPARK_LOCAL_IP": HOST,
        "SPARK_LOCAL_HOSTNAME": HOST,  # advertise 127.0.0.1, not the machine's name
        "SPARK_NO_DAEMONIZE": "1",
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_LOG_DIR": str(logs),
        "SPARK_DAEMON_MEMORY": "256m",
    }
    spark_class = str(home / "bin" / "spark-class")
    port, webui = free_port(), free_port()
    master_url = f"spark://{HOST}:{port}"
    processes = [
        _start(
            [spark_class, "org.apache.spark.deploy.master.Master", "--host", HOST,
             "--port", str(port), "--webui-port", str(webui)],
            env,
            logs / "master.log",
        )
    ]  # fmt: skip
    try:
        for i in range(workers):
            (work_dir / f"worker-{i}").mkdir(exist_ok=True)
            processes.append(
                _start(
                    [spark_class, "org.apache.spark.deploy.worker.Worker", master_url,
                     "--host", HOST, "--cores", str(cores), "--memory", memory,
                     "--webui-port", str(free_port()), "--work-dir", str(work_dir / f"worker-{i}")],
                    env,
                    logs / f"worker-{i}.log",
                )
            )  # fmt: skip
        cluster = Cluster(master_url, f"http://{HOST}:{webui}", processes, work_dir)
        deadline = time.monotonic() + start_timeout
        while True:
            exited = [p.args for p in processes if p.poll() is not None]
            if exited:
                raise RuntimeError(f"cluster process exited: {exited}; logs in {logs}")
            with contextlib.suppress(urllib.error.URLError, OSError, ValueError):
                if cluster.alive_workers() >= workers:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"workers not ALIVE after {start_timeout} s; logs in {logs}")
            time.sleep(0.5)
        cluster.startup_seconds = round(time.monotonic() - started, 1)
        yield cluster
    finally:
        _stop(processes[1:] + processes[:1], grace=10.0)
