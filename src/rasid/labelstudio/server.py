"""A throwaway local Label Studio server, for fixtures and integration tests.

Label Studio lives in its own virtual env (.venv-ls; it would downgrade packages of the
training env). `LabelStudioServer` starts `label-studio start` from there on 127.0.0.1 and a
free port, with a fresh data dir, an admin user and a known legacy API token, waits for
`/health`, and stops the whole process group on exit. The token is never logged or shown in
repr; the server's own output goes to `<data_dir>/server.log`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from rasid.errors import RasidConfigError

__all__ = ["LabelStudioServer", "default_ls_venv", "label_studio_executable"]

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[3]


def default_ls_venv() -> Path:
    """Where the Label Studio env is expected: $RASID_LS_VENV or <project>/.venv-ls."""
    return Path(os.environ.get("RASID_LS_VENV") or PROJECT_ROOT / ".venv-ls")


def label_studio_executable(venv: str | Path | None = None) -> Path | None:
    """The `label-studio` command inside the env, or None when that env is not installed."""
    exe = Path(venv or default_ls_venv()) / "bin" / "label-studio"
    return exe if exe.exists() else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LabelStudioServer:
    """`with LabelStudioServer() as ls: ls.url, ls.token` — a running server, gone afterwards.

    `data_dir=None` makes a temporary one and deletes it on stop; a given dir is kept (a
    second start on it skips the migrations, ~4 s instead of ~40 s). Token and password are
    random unless given; they are kept in `<data_dir>/.rasid-credentials` (mode 600) so that
    a restart on the same dir logs in as the same admin.
    """

    venv: Path | None = None
    data_dir: Path | None = None
    port: int | None = None
    username: str = "admin@rasid.local"
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    start_timeout_s: float = 180.0
    startup_seconds: float | None = field(default=None, init=False)
    _process: subprocess.Popen | None = field(default=None, init=False, repr=False)
    _own_data_dir: bool = field(default=False, init=False, repr=False)
    _log_handle: object = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        assert self.data_dir is not None
        return Path(self.data_dir) / "server.log"

    def start(self) -> LabelStudioServer:
        exe = label_studio_executable(self.venv)
        if exe is None:
            raise RasidConfigError(
                f"Label Studio is not installed in {self.venv or default_ls_venv()}: "
                "python3 -m venv .venv-ls && .venv-ls/bin/pip install label-studio==1.23.2"
            )
        if self.data_dir is None:
            self.data_dir = Path(tempfile.mkdtemp(prefix="rasid-ls-"))
            self._own_data_dir = True
        self.data_dir = Path(self.data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._settle_credentials()
        self.port = self.port or _free_port()
        env = {
            **os.environ,
            "LABEL_STUDIO_BASE_DATA_DIR": str(self.data_dir),
            "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
            "LABEL_STUDIO_USERNAME": self.username,
            "LABEL_STUDIO_PASSWORD": self.password,
            "LABEL_STUDIO_USER_TOKEN": self.token,
            "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
            # no network here: skip the PyPI version check, analytics and error reporting
            "LATEST_VERSION_CHECK": "false",
            "COLLECT_ANALYTICS": "false",
            "SENTRY_DSN": "",
            "FRONTEND_SENTRY_DSN": "",
        }
        # the env's own interpreter must win, not whatever venv the caller runs in
        env["PATH"] = f"{exe.parent}{os.pathsep}{env.get('PATH', '')}"
        env.pop("VIRTUAL_ENV", None)
        env.pop("PYTHONPATH", None)
        command = [str(exe), "start", "--internal-host", "127.0.0.1", "-p", str(self.port), "-b", "--data-dir", str(self.data_dir)]
        self._log_handle = self.log_path.open("ab")
        began = time.monotonic()
        log.info("starting Label Studio on %s (data in %s)", self.url, self.data_dir)
        # own process group, so stop() reaches the server's children too
        self._process = subprocess.Popen(
            command, env=env, stdout=self._log_handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
        try:
            self._wait_healthy(began)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        log.info("Label Studio answered after %.1f s", self.startup_seconds)
        return self

    def _settle_credentials(self) -> None:
        saved = self.data_dir / ".rasid-credentials"
        if saved.exists():
            old_token, old_password = saved.read_text().split("\n")[:2]
            if self.token not in (None, old_token):
                raise RasidConfigError(f"{self.data_dir} already has an admin with another token; use a fresh data dir")
            self.token, self.password = old_token, self.password or old_password
        self.token = self.token or secrets.token_hex(20)
        self.password = self.password or secrets.token_urlsafe(16)
        if len(self.token) != 40 or any(c not in "0123456789abcdef" for c in self.token):
            raise RasidConfigError("the Label Studio legacy token must be 40 lowercase hex characters")
        fd = os.open(saved, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{self.token}\n{self.password}\n")

    def _wait_healthy(self, began: float) -> None:
        while time.monotonic() - began < self.start_timeout_s:
            if self._process is not None and self._process.poll() is not None:
                raise RasidConfigError(f"Label Studio exited with status {self._process.returncode} during start; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.5)
        raise RasidConfigError(f"Label Studio did not answer within {self.start_timeout_s:.0f} s; see {self.log_path}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None
        if self._own_data_dir and self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None
            self._own_data_dir = False

    def client(self):
        """A label-studio-sdk 2.x client for this server (the SDK lives in the training env)."""
        from rasid.labelstudio.client import connect

        return connect(self.url, self.token)

    def __enter__(self) -> LabelStudioServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
