"""Real servers on loopback ports for the tests and benchmarks: redis-server and
memcached, started as child processes and stopped (or killed) by the caller.

Where a server binary is missing, :func:`require` skips the test, except under CI
(``.ci/run`` installs the servers), where its absence is an error.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time


def require(binary: str) -> str:
    """The path of ``binary``; skip (fail under CI) when it is not installed."""
    import pytest

    path = shutil.which(binary) or (f"/usr/bin/{binary}" if os.path.exists(f"/usr/bin/{binary}") else None)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{binary} is not installed (.ci/run installs it)")
        pytest.skip(f"{binary} is not installed")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A server process on ``127.0.0.1:port``."""

    def __init__(self, argv: list[str], port: int, workdir: str) -> None:
        self.port = port
        self.log_path = os.path.join(workdir, f"server-{port}.log")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
        deadline = time.monotonic() + 20
        while self.process.poll() is None and time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        self.stop()
        with open(self.log_path, errors="replace") as log:
            raise RuntimeError(f"{argv[0]} did not start on port {port}: {log.read()[-500:]}")

    def kill(self) -> None:
        """SIGKILL: the server dies at once, as in a crash."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _start(make_argv, workdir: str | None) -> Server:
    workdir = workdir or tempfile.mkdtemp(prefix="fastring-server-")
    error: Exception | None = None
    for _ in range(3):  # the free port may be taken between choosing and binding it
        port = _free_port()
        try:
            return Server(make_argv(port), port, workdir)
        except RuntimeError as exc:
            error = exc
    raise error  # type: ignore[misc]


def redis(binary: str = "redis-server", *, cluster: bool = False, workdir: str | None = None) -> Server:
    """A redis-server without persistence (in cluster mode if ``cluster``)."""

    def argv(port: int) -> list[str]:
        args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        if cluster:
            args += ["--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{port}.conf"]
        return args

    return _start(argv, workdir)


def memcached(binary: str = "memcached", *, workdir: str | None = None) -> Server:
    """A memcached with 64 MB of memory."""
    user = ["-u", "nobody"] if os.geteuid() == 0 else []  # memcached refuses to run as root
    return _start(lambda port: [binary, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", "64", *user], workdir)
