"""The opening answers of a `tntc mcp` stdio session, replayed while the SDK loads.

Importing the ``mcp`` SDK costs ~0.6 s (pydantic models for two protocol eras, starlette,
its client; see docs/agents.md) and building the tools from the CLI costs more. Clients
open every session the same way: ``initialize`` (or ``server/discover``) and
``tools/list``. The server's answers to those depend only on this tntc's code and the
installed packages, so they are recorded from the SDK's own answers into a cache keyed by
a fingerprint of both, and a later start answers them from the recording at once.

The SDK still sees and answers every message: the front copies each line to it, and its
answer to a request the front already answered is compared with what was sent and dropped
(a difference is reported on stderr and the recording corrected). So the SDK's session
state is exactly what it would be had it answered alone, and only the opening of a
conversation, message for message as recorded, is ever replayed.

This module imports nothing heavy: it runs before the SDK is imported.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any, BinaryIO

from tentacular.agent._lines import LineSink

RECORDED_METHODS = frozenset({"initialize", "server/discover", "tools/list"})
MODERN_VERSION_KEY = "io.modelcontextprotocol/protocolVersion"  # the 2026-07-28 request envelope
HOME_ENV = "TENTACULAR_HOME"  # as tentacular.deploy._settings.tentacular_home (too heavy to import here)
CACHE_FORMAT = "1"
OPENING_WAIT = 1.0  # seconds the start-up waits for a client's opening before loading the SDK anyway


def cache_file(home: Path | None = None) -> Path:
    """``<TENTACULAR_HOME>/cache/mcp/<fingerprint>.json``."""
    if home is None:
        override = os.environ.get(HOME_ENV)
        home = Path(override).expanduser() if override else Path.home() / ".tentacular"
    return home / "cache" / "mcp" / f"{fingerprint()}.json"


def fingerprint() -> str:
    """Changes whenever a tntc source file or an installed package could change an answer.

    Path, size and modification time of every tentacular module, and the names of the
    installed distributions next to the SDK (an upgrade renames its dist-info). A
    change that is not a real one only costs one start at SDK speed.
    """
    import tentacular

    digest = hashlib.sha256(f"{CACHE_FORMAT}\0{sys.version}\0{sys.executable}\0".encode())
    package = Path(tentacular.__file__).parent
    for root, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".json")):
                with contextlib.suppress(OSError):
                    stat = (Path(root) / name).stat()
                    digest.update(f"{root}/{name}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    for site in _site_directories():
        with contextlib.suppress(OSError):
            for entry in sorted(p.name for p in Path(site).iterdir()):
                if entry.endswith(".dist-info"):
                    digest.update(f"{entry}\0".encode())
    return digest.hexdigest()[:32]


def _site_directories() -> list[str]:
    import importlib.util

    found = []
    for name in ("mcp", "mcp_types"):
        spec = importlib.util.find_spec(name)  # locates without importing
        if spec is not None and spec.origin:
            found.append(str(Path(spec.origin).parent.parent))
    return sorted(set(found))


class Recording:
    """Recorded results by conversation key; written atomically after each new one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.results: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError, TypeError):
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and isinstance(data.get("results"), dict):
                self.results = data["results"]
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        return self.results.get(key)

    def put(self, key: str, result: Any) -> None:
        """Record ``result`` for ``key`` (``None`` forgets it)."""
        with self._lock:
            if self.results.get(key) == result:
                return
            if result is None:
                self.results.pop(key, None)
            else:
                self.results[key] = result
            text = json.dumps({"format": CACHE_FORMAT, "results": self.results}, sort_keys=True)
        with contextlib.suppress(OSError):  # a cache that cannot be written only costs speed
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fresh = not self.path.exists()
            scratch = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}")
            scratch.write_text(text, encoding="utf-8")
            scratch.replace(self.path)
            if fresh:
                _prune(self.path.parent)


KEPT_RECORDINGS = 8  # other tntc versions or checkouts sharing this home keep theirs


def _prune(directory: Path) -> None:
    """Keep the newest recordings only: every source edit in a checkout makes a new one."""
    recordings = sorted(directory.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in recordings[KEPT_RECORDINGS:]:
        with contextlib.suppress(OSError):
            old.unlink()


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class Conversation:
    """What the client has said so far; keys the requests whose answers follow from it alone.

    Only the opening is keyed: the first message that is not part of a usual opening
    (any other request or notification) ends it, and the SDK answers everything after.
    """

    def __init__(self) -> None:
        self.era: str | None = None
        self.opening = ""
        self.initialized = False
        self.open = True

    def key(self, message: Any) -> str | None:
        """``era|method|…`` for a request of the opening, else None (and the opening is over)."""
        if not self.open:
            return None
        method = message.get("method") if isinstance(message, dict) else None
        if not isinstance(method, str) or message.get("jsonrpc") != "2.0":
            return self._closed()
        params = message.get("params")
        if "id" not in message:  # a notification
            if method == "notifications/initialized" and self.era == "legacy":
                self.initialized = True
                return None
            return self._closed()
        if method not in RECORDED_METHODS or not isinstance(message["id"], int | str):
            return self._closed()
        if params is not None and not isinstance(params, dict):
            return self._closed()
        modern = (
            isinstance(params, dict)
            and isinstance(params.get("_meta"), dict)
            and (MODERN_VERSION_KEY in params["_meta"])
        )
        if self.era is None:  # the first request decides the era, as the SDK's runner does
            if method == "initialize":
                self.era, self.opening = "legacy", _canonical(params)
                return f"legacy|initialize|{self.opening}"
            if not modern:
                return self._closed()
            self.era = "modern"
        if self.era == "modern" and modern and method != "initialize":
            return f"modern|{method}|{_canonical(params)}"
        if (
            self.era == "legacy"
            and method == "tools/list"
            and self.initialized
            and not (params or {}).get("cursor")
        ):
            return f"legacy|tools/list|{self.opening}|{_canonical(params or {})}"
        return self._closed()

    def _closed(self) -> str | None:
        self.open = False
        return None


class StdioFront:
    """Owns the process's stdin and stdout for an MCP stdio session.

    fd 0 and 1 are moved to private descriptors and pointed at /dev/null and stderr (as
    the SDK's own stdio transport does), so stray output never reaches the wire. A reader
    thread answers recorded requests and copies every line to :attr:`sdk_input`; the SDK
    writes through :attr:`sdk_output`.
    """

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.conversation = Conversation()
        self.replayed = 0
        self._write_lock = threading.Lock()
        self._keys: dict[str, str] = {}  # request id -> conversation key, for the SDK's answer
        self._sent: dict[str, Any] = {}  # request id -> result the front already sent
        sys.stdout.flush()
        self._wire_in = fcntl.fcntl(0, fcntl.F_DUPFD_CLOEXEC, 3)
        self._wire_out = fcntl.fcntl(1, fcntl.F_DUPFD_CLOEXEC, 3)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.dup2(2, 1)
        to_sdk_read, self._to_sdk = os.pipe()
        self.sdk_input = os.fdopen(to_sdk_read, "r", encoding="utf-8", errors="replace")
        self.sdk_output = LineSink(self.from_sdk)  # the SDK's stdout, line by line
        self.opening_over = threading.Event()
        self._reader = threading.Thread(target=self._pump, name="mcp-front", daemon=True)
        self._reader.start()

    @classmethod
    def start(cls, path: Path | None = None) -> StdioFront:
        """The front of this process: the one already open (``tntc`` opens it early), or a new one."""
        global _active
        with _active_lock:
            if _active is None:
                _active = cls(Recording(path or cache_file()))
            return _active

    def _pump(self) -> None:
        wire: BinaryIO = os.fdopen(self._wire_in, "rb", closefd=False)
        try:
            for line in wire:
                self._consider(line)
                _write_all(self._to_sdk, line)
        except OSError:
            pass
        finally:
            self.opening_over.set()
            with contextlib.suppress(OSError):
                os.close(self._to_sdk)

    def _consider(self, line: bytes) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            message = None
        key = self.conversation.key(message)
        if key is None:
            if not self.conversation.open:
                self.opening_over.set()
            return
        request_id = _canonical(message["id"])
        self._keys[request_id] = key
        result = self.recording.get(key)
        if result is None:  # not recorded: the SDK answers, so let it load
            self.opening_over.set()
            return
        self._sent[request_id] = result
        answer = {"jsonrpc": "2.0", "id": message["id"], "result": result}
        self.send(json.dumps(answer, separators=(",", ":"), ensure_ascii=False) + "\n")
        self.replayed += 1
        if message.get("method") == "tools/list":
            self.opening_over.set()

    def wait_for_opening(self, timeout: float) -> None:
        """Block until the opening is answered or handed to the SDK (at most ``timeout`` s).

        While the front replays, importing Typer and the SDK in the main thread would only
        compete with it for the interpreter; the opening takes milliseconds.
        """
        self.opening_over.wait(timeout)

    def send(self, text: str) -> None:
        with self._write_lock:
            _write_all(self._wire_out, text.encode("utf-8"))

    def from_sdk(self, line: str) -> None:
        """One line the SDK writes: dropped if the front answered it already, else sent (and recorded)."""
        try:
            message = json.loads(line)
        except ValueError:
            message = None
        if isinstance(message, dict) and "method" not in message and "id" in message:
            request_id = _canonical(message["id"])
            key = self._keys.pop(request_id, None)
            if request_id in self._sent:
                sent = self._sent.pop(request_id)
                if key is not None and message.get("result") != sent:
                    sys.stderr.write(f"tntc mcp: the replayed answer to {key.split('|')[1]} was stale\n")
                    self.recording.put(key, message.get("result"))
                return
            if key is not None and "result" in message:
                self.recording.put(key, message["result"])
        self.send(line if line.endswith("\n") else line + "\n")

    def close(self) -> None:
        """Give fd 0 and 1 back to the wire (once; later calls do nothing)."""
        global _active
        with _active_lock:
            if _active is not self:
                return
            _active = None
        sys.stdout.flush()
        with contextlib.suppress(OSError):
            os.dup2(self._wire_in, 0)
        with contextlib.suppress(OSError):
            os.dup2(self._wire_out, 1)


_active: StdioFront | None = None
_active_lock = threading.Lock()


def close_front() -> None:
    """Close this process's front, if one is open."""
    front = _active
    if front is not None:
        front.close()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
