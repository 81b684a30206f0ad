#!/usr/bin/env python3
"""Crash loops against `portico up`: kill -9 during a write load and during deploys.

Driven by scripts/crash-loop.sh (which builds or picks the binary and the example
components); Python 3.11 standard library only. See that script's header for what is
proved. Settings come from the environment:

  PORTICO_BIN   the portico binary (required)
  WASM_DIR      directory holding hello.wasm and todo.wasm (required)
  ROUNDS        rounds of (write crash, deploy crash); default 20
  WRITERS       concurrent writer threads; default 8
  PROBERS       concurrent prober threads; default 2
  SEED          random seed (kill moments, choices); default: random, printed
  WORK          scratch directory (manifest, data dir, log); default: a new temp dir
  KEEP_WORK=1   leave WORK in place at the end (it is removed otherwise)

Exit status: 0 when every check held, 1 on any violation, 2 on a setup failure.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field

TOKEN = "crash-loop-" + uuid.uuid4().hex
HTTP_TIMEOUT = 15.0
READY_TIMEOUT = 120.0
KILL_AFTER = (0.5, 2.0)  # seconds of load before kill -9, uniformly drawn
HOT = 16  # writers mostly patch the newest HOT todos, so conditional writes race

NET_ERRORS = (OSError, http.client.HTTPException)


def log(msg: str) -> None:
    print(msg, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def version_of(wasm: bytes) -> str:
    """Portico's version of a module: the first 12 hex digits of its SHA-256."""
    return hashlib.sha256(wasm).hexdigest()[:12]


def variant(wasm: bytes, tag: str) -> bytes:
    """`wasm` with a custom section appended: same behaviour, another version."""
    name = b"portico-crash-loop"
    payload = bytes([len(name)]) + name + tag.encode()
    assert len(payload) < 128  # one LEB128 byte for the size
    return wasm + b"\x00" + bytes([len(payload)]) + payload


class Client:
    """One keep-alive HTTP/1.1 connection, reopened after any error. Never retries."""

    def __init__(self, port: int):
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None) -> tuple[int, bytes]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT)
        try:
            self.conn.request(method, path, body=body, headers=headers or {})
            resp = self.conn.getresponse()
            data = resp.read()
            return resp.status, data
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# ---------------------------------------------------------------------------------------
# The host


class Host:
    def __init__(self, binary: str, work: str, manifest: str):
        self.binary = binary
        self.work = work
        self.manifest = manifest
        self.port = free_port()
        self.admin_port = free_port()
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.log_path = os.path.join(work, "host.log")
        self.log_offset = 0

    def start(self) -> float:
        """Starts portico; returns seconds until /healthz and the public port answer."""
        self.starts += 1
        env = dict(os.environ)
        env.pop("PORTICO_DATA_BACKEND", None)
        env["PORTICO_ADMIN_TOKEN"] = TOKEN
        env.setdefault("RUST_LOG", "info,portico::access=warn,portico::guest=warn")
        logf = open(self.log_path, "ab")
        self.log_offset = logf.tell()
        logf.write(f"===== start {self.starts} =====\n".encode())
        logf.flush()
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [self.binary, "up", "--manifest", self.manifest,
             "--listen", f"127.0.0.1:{self.port}",
             "--admin-listen", f"127.0.0.1:{self.admin_port}"],
            stdout=logf, stderr=logf, stdin=subprocess.DEVNULL, env=env)
        logf.close()
        with open(os.path.join(self.work, "portico.pid"), "w") as f:
            f.write(str(self.proc.pid))
        admin, public = Client(self.admin_port), Client(self.port)
        ready = {"admin": False, "public": False}
        while not all(ready.values()):
            if self.proc.poll() is not None:
                raise SystemExit(f"portico exited with {self.proc.returncode} at start "
                                 f"{self.starts}:\n{self.log_tail()}")
            if time.monotonic() - started > READY_TIMEOUT:
                raise SystemExit(f"portico not ready after {READY_TIMEOUT}s:\n{self.log_tail()}")
            for name, client, path in (("admin", admin, "/healthz"), ("public", public, "/hello")):
                if ready[name]:
                    continue
                try:
                    status, _ = client.request("GET", path)
                    ready[name] = status == 200
                except NET_ERRORS:
                    pass
            if not all(ready.values()):
                time.sleep(0.01)
        admin.close()
        public.close()
        return time.monotonic() - started

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, lines: int = 40) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self.log_offset)
                text = f.read().decode(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


# ---------------------------------------------------------------------------------------
# Shared bookkeeping


@dataclass
class Attempt:
    """A conditional PATCH from version `frm`: outcome ack (200), rejected (409), or
    unknown (no answer, or a 5xx: it may or may not have applied)."""
    frm: int
    title: str
    outcome: str = "pending"


@dataclass
class Todo:
    id: str
    title: str
    belief: int = 1  # highest version known to be stored
    acked_from: set = field(default_factory=set)  # versions a 200 moved away from
    landed: set = field(default_factory=set)  # versions only an unanswered PATCH moved from
    attempts: list = field(default_factory=list)


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.violations: list[str] = []
        self.creates_acked = 0
        self.patches_acked = 0
        self.patches_rejected = 0
        self.unanswered = 0
        self.landed_unacked = 0  # versions only an unanswered PATCH can explain
        self.probes = 0
        self.probe_failures = 0
        self.deploys_acked = 0
        self.deploys_landed_unacked = 0
        self.audit_gaps = 0  # live after restart, but the audit log's last entry differs
        self.restarts: list[float] = []

    def violation(self, msg: str) -> None:
        with self.lock:
            self.violations.append(msg)
        log(f"  VIOLATION: {msg}")

    def add(self, name: str, n: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + n)


# ---------------------------------------------------------------------------------------
# Write phase


class Writes:
    def __init__(self, stats: Stats):
        self.stats = stats
        self.lock = threading.Lock()
        self.todos: dict[str, Todo] = {}
        self.order: list[str] = []

    def writer(self, port: int, wid: int, stop: threading.Event, killed: threading.Event,
               rng: random.Random, counts: dict) -> None:
        client = Client(port)
        n = 0
        while not (stop.is_set() or killed.is_set()):  # no new request after the kill
            n += 1
            with self.lock:
                have = len(self.order)
            if have == 0 or rng.random() < 0.3:
                self.create(client, f"c-{wid}-{n}-{uuid.uuid4().hex[:8]}", killed, counts)
            else:
                with self.lock:
                    pool = self.order[-HOT:] if rng.random() < 0.8 else self.order
                    todo = self.todos[rng.choice(pool)]
                self.patch(client, todo, f"p-{wid}-{n}", rng.choice(["open", "done"]),
                           killed, counts)
        client.close()

    def unanswered(self, counts: dict, killed: threading.Event, why: str | None) -> None:
        """A write without an acknowledgement: it may or may not have landed, and nothing
        is claimed about it. Before the kill the host must answer, so `why` is then a
        violation (None: the caller has judged it already)."""
        self.stats.add("unanswered")
        counts["unanswered"] += 1
        if why is not None and not killed.is_set():
            self.stats.violation(f"{why} before the kill")

    def create(self, client: Client, title: str, killed: threading.Event, counts: dict) -> None:
        body = json.dumps({"title": title}).encode()
        try:
            status, data = client.request("POST", "/todos", body,
                                          {"content-type": "application/json"})
        except NET_ERRORS as e:
            self.unanswered(counts, killed, f"POST /todos failed ({e!r})")
            return
        if status == 201:
            todo = json.loads(data)
            if todo.get("version") != 1 or todo.get("title") != title:
                self.stats.violation(f"POST /todos answered a wrong todo: {todo}")
            with self.lock:
                self.todos[todo["id"]] = Todo(todo["id"], title)
                self.order.append(todo["id"])
            self.stats.add("creates_acked")
            counts["creates"] += 1
        else:
            self.unanswered(counts, killed, f"POST /todos answered {status} ({data[:200]!r})")

    def patch(self, client: Client, todo: Todo, title: str, status_value: str,
              killed: threading.Event, counts: dict) -> None:
        with self.lock:
            frm = todo.belief
            floor = max([v + 1 for v in todo.acked_from | todo.landed], default=1)
            attempt = Attempt(frm, title)
            todo.attempts.append(attempt)
        body = json.dumps({"version": frm, "title": title, "status": status_value}).encode()
        try:
            status, data = client.request("PATCH", f"/todos/{todo.id}", body,
                                          {"content-type": "application/json"})
        except NET_ERRORS as e:
            attempt.outcome = "unknown"
            self.unanswered(counts, killed, f"PATCH /todos/{todo.id} failed ({e!r})")
            return
        if status == 200:
            got = json.loads(data)
            with self.lock:
                attempt.outcome = "ack"
                if frm in todo.acked_from:
                    self.stats.violation(
                        f"todo {todo.id}: two PATCHes from version {frm} both acknowledged")
                todo.acked_from.add(frm)
                todo.belief = max(todo.belief, frm + 1)
            if got.get("version") != frm + 1 or got.get("title") != title:
                self.stats.violation(f"todo {todo.id}: PATCH from {frm} answered {got}")
            self.stats.add("patches_acked")
            counts["patches"] += 1
        elif status == 409:
            current = json.loads(data).get("current", {})
            v = current.get("version")
            with self.lock:
                attempt.outcome = "rejected"
                if not isinstance(v, int) or v == frm or v < floor:
                    self.stats.violation(
                        f"todo {todo.id}: 409 for version {frm} showed version {v}, but "
                        f"version {floor} was acknowledged before the request")
                elif v < frm:
                    self.stats.violation(
                        f"todo {todo.id}: 409 shows version {v}, but version {frm} was "
                        f"read before: the version went backwards")
                elif v > todo.belief:
                    todo.belief = v
            self.stats.add("patches_rejected")
            counts["rejected"] += 1
        else:
            attempt.outcome = "unknown"
            if status == 404:
                self.stats.violation(f"todo {todo.id}: acknowledged create, but PATCH got 404")
                self.unanswered(counts, killed, None)
            else:
                self.unanswered(counts, killed,
                                f"PATCH /todos/{todo.id} answered {status} ({data[:200]!r})")

    def verify(self, port: int, threads: int = 8) -> tuple[int, int]:
        """After a restart: every acknowledged create is there, and each todo's version
        chain is explained by the PATCHes: every acknowledged one applied (the version is
        past it), and every applied one (1 → 2 → ... → stored) was attempted from that
        version and acknowledged or left unanswered, so none applied twice and none
        appeared from nowhere. Returns (todos verified, acked writes covered)."""
        ids = list(self.order)
        chunks = [ids[i::threads] for i in range(threads)]
        covered = [0] * threads
        checked = [0] * threads

        def work(i: int) -> None:
            client = Client(port)
            for tid in chunks[i]:
                todo = self.todos[tid]
                try:
                    status, data = client.request("GET", f"/todos/{tid}")
                except NET_ERRORS as e:
                    self.stats.violation(f"GET /todos/{tid} after restart failed: {e!r}")
                    continue
                if status != 200:
                    self.stats.violation(
                        f"todo {tid}: created with 201, after restart GET answers {status}")
                    continue
                got = json.loads(data)
                final = got["version"]
                with self.lock:
                    if final < todo.belief:
                        self.stats.violation(
                            f"todo {tid}: stored version {final}, but version {todo.belief} "
                            f"was read before the crash: it went backwards")
                    acked = sorted(todo.acked_from)
                    by_from: dict[int, list[Attempt]] = {}
                    for a in todo.attempts:
                        if a.outcome in ("ack", "unknown"):
                            by_from.setdefault(a.frm, []).append(a)
                    if acked and acked[-1] + 1 > final:
                        self.stats.violation(
                            f"todo {tid}: PATCH from {acked[-1]} acknowledged, "
                            f"but the stored version is {final}")
                    for v in range(1, final):
                        cands = by_from.get(v, [])
                        if not cands:
                            self.stats.violation(
                                f"todo {tid}: stored version {final}, but no acknowledged "
                                f"or unanswered PATCH from version {v} explains it")
                        elif v not in todo.acked_from and v not in todo.landed:
                            # Only an unanswered PATCH explains it: it landed unacked.
                            self.stats.add("landed_unacked")
                            todo.landed.add(v)
                    if final > 1:
                        titles = {a.title for a in by_from.get(final - 1, [])}
                        if got["title"] not in titles:
                            self.stats.violation(
                                f"todo {tid}: version {final} holds title {got['title']!r}, "
                                f"not one a PATCH from {final - 1} wrote ({sorted(titles)})")
                    elif got["title"] != todo.title:
                        self.stats.violation(f"todo {tid}: title {got['title']!r} != created")
                    # Settle: an unanswered PATCH from a version not passed did not apply
                    # and never will (its process is gone), so it explains nothing later.
                    for a in todo.attempts:
                        if a.outcome == "unknown" and a.frm >= final:
                            a.outcome = "lost"
                    todo.belief = final
                    covered[i] += 1 + sum(1 for v in acked if v < final)
                checked[i] += 1
            client.close()

        ts = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return sum(checked), sum(covered)


# ---------------------------------------------------------------------------------------
# Deploy phase


class Deploys:
    """Deploys of function `hello` with an increasing sequence number in its environment
    (CRASH_SEQ, which `GET /probe`, hello's echo route, shows); the module alternates
    between two variants, and every fourth deploy is a module never seen before (so it
    is compiled and its artifact written while the kill may come)."""

    def __init__(self, stats: Stats, hello: bytes, audit_path: str):
        self.stats = stats
        self.audit_path = audit_path
        self.lock = threading.Lock()
        self.a = hello
        self.b = variant(hello, "b")
        self.modules: dict[int, str] = {0: version_of(hello)}  # seq -> version
        self.seq = 0
        self.live_seq = 0  # last acknowledged or verified live
        self.live_deployment: int | None = None
        self.inflight: int | None = None
        self.acked_at: dict[int, float] = {}

    def module_for(self, seq: int) -> bytes:
        if seq % 4 == 0:
            return variant(self.a, f"fresh-{seq}")
        return self.a if seq % 2 else self.b

    def deployer(self, admin_port: int, stop: threading.Event, killed: threading.Event,
                 counts: dict) -> None:
        client = Client(admin_port)
        while not (stop.is_set() or killed.is_set()):  # no new request after the kill
            with self.lock:
                self.seq += 1
                seq = self.seq
                wasm = self.module_for(seq)
                self.modules[seq] = version_of(wasm)
                self.inflight = seq
                prev_version = self.modules[self.live_seq]
            boundary = uuid.uuid4().hex
            config = json.dumps({"environment": {"CRASH_SEQ": str(seq)}}).encode()
            body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"module\"\r\n"
                    f"Content-Type: application/wasm\r\n\r\n").encode() + wasm + \
                (f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"config\"\r\n"
                 f"Content-Type: application/json\r\n\r\n").encode() + config + \
                f"\r\n--{boundary}--\r\n".encode()
            headers = {"authorization": f"Bearer {TOKEN}",
                       "content-type": f"multipart/form-data; boundary={boundary}"}
            try:
                status, data = client.request("PUT", "/functions/hello", body, headers)
            except NET_ERRORS as e:
                if not killed.is_set():
                    self.stats.violation(f"deploy #{seq} failed before the kill: {e!r}")
                break
            if status != 200:
                if not killed.is_set():
                    self.stats.violation(f"deploy #{seq} answered {status}: {data[:300]!r}")
                break
            got = json.loads(data)
            with self.lock:
                if got.get("version") != self.modules[seq]:
                    self.stats.violation(f"deploy #{seq}: version {got.get('version')}, "
                                         f"expected {self.modules[seq]}")
                if got.get("previous") != prev_version:
                    self.stats.violation(f"deploy #{seq}: previous {got.get('previous')}, "
                                         f"expected {prev_version}")
                if self.live_deployment is not None and got.get("deployment") != self.live_deployment + 1:
                    self.stats.violation(f"deploy #{seq}: deployment {got.get('deployment')}, "
                                         f"expected {self.live_deployment + 1}")
                self.live_deployment = got.get("deployment")
                self.live_seq = seq
                self.inflight = None
                self.acked_at[seq] = time.monotonic()
            self.stats.add("deploys_acked")
            counts["deploys"] += 1
        client.close()

    def probe_once(self, client: Client, killed: threading.Event, counts: dict,
                   check_floor: bool = True) -> int | None:
        """One GET /probe: must be 200 and show a version at least as new as the last one
        acknowledged before the request started. Returns its CRASH_SEQ."""
        with self.lock:
            floor = self.live_seq
        try:
            status, data = client.request("GET", "/probe")
        except NET_ERRORS as e:
            if killed.is_set():
                return None
            self.stats.add("probes")
            self.stats.add("probe_failures")
            counts["probe_failures"] += 1
            self.stats.violation(f"GET /probe failed before the kill: {e!r}")
            return None
        if killed.is_set() and status != 200:
            return None
        self.stats.add("probes")
        counts["probes"] += 1
        if status != 200:
            self.stats.add("probe_failures")
            counts["probe_failures"] += 1
            self.stats.violation(f"GET /probe answered {status}: {data[:200]!r}")
            return None
        try:
            seq = int(json.loads(data)["env"]["CRASH_SEQ"])
        except (ValueError, KeyError, TypeError):
            self.stats.add("probe_failures")
            counts["probe_failures"] += 1
            self.stats.violation(f"GET /probe answered 200 without CRASH_SEQ: {data[:200]!r}")
            return None
        with self.lock:
            top = self.seq
        if check_floor and not floor <= seq <= top:
            self.stats.add("probe_failures")
            counts["probe_failures"] += 1
            self.stats.violation(f"GET /probe served deploy #{seq}; deploy #{floor} was "
                                 f"acknowledged before it and #{top} is the newest sent")
        return seq

    def prober(self, port: int, stop: threading.Event, killed: threading.Event,
               counts: dict) -> None:
        client = Client(port)
        while not (stop.is_set() or killed.is_set()):  # no new request after the kill
            self.probe_once(client, killed, counts)
        client.close()

    def verify(self, port: int, admin_port: int) -> str:
        """After a restart: the route answers 200 with the last acknowledged deploy or
        the one in flight at the kill (never anything else, never an error), and the
        admin API names the same version and deployment live."""
        with self.lock:
            allowed = {self.live_seq}
            if self.inflight is not None:
                allowed.add(self.inflight)
            acked_dep = self.live_deployment
            old = self.live_seq
        counts = {"probes": 0, "probe_failures": 0}
        client = Client(port)
        no_kill = threading.Event()
        seen = set()
        for _ in range(20):
            seq = self.probe_once(client, no_kill, counts, check_floor=False)
            if seq is not None:
                seen.add(seq)
        client.close()
        if len(seen) != 1 or not seen <= allowed:
            self.stats.violation(f"after restart GET /probe served {sorted(seen)}; "
                                 f"allowed: {sorted(allowed)} (old or new, and one of them)")
            return "violation"
        seq = seen.pop()
        admin = Client(admin_port)
        try:
            status, data = admin.request("GET", "/functions/hello",
                                         headers={"authorization": f"Bearer {TOKEN}"})
        except NET_ERRORS as e:
            self.stats.violation(f"GET /functions/hello after restart failed: {e!r}")
            return "violation"
        finally:
            admin.close()
        info = json.loads(data) if status == 200 else {}
        live = [v for v in info.get("versions", []) if v.get("live")]
        expect_dep = None
        if acked_dep is not None:
            expect_dep = acked_dep if seq == old else acked_dep + 1
        if status != 200 or info.get("live") != self.modules[seq] or len(live) != 1 \
                or live[0].get("version") != self.modules[seq] \
                or (expect_dep is not None and info.get("live_deployment") != expect_dep):
            self.stats.violation(
                f"after restart the route serves deploy #{seq} ({self.modules[seq]}), but the "
                f"admin API says {status}: live {info.get('live')}, deployment "
                f"{info.get('live_deployment')} (expected {expect_dep})")
            return "violation"
        note = self.check_audit(self.modules[seq])
        with self.lock:
            if seq != old:
                self.stats.add("deploys_landed_unacked")
                how = f"#{seq} (in flight, unacknowledged, landed)"
            elif self.inflight is not None:
                how = f"#{seq} (the old one; #{self.inflight} was in flight)"
            else:
                how = f"#{seq} (the last acknowledged; none in flight)"
            self.live_seq = seq
            self.live_deployment = info.get("live_deployment")
            self.inflight = None
        return how + note

    def check_audit(self, live_version: str) -> str:
        """The audit log is JSON lines, and its last successful entry for hello names the
        version live now (a change that is live but missing from the log is an audit gap:
        reported, not counted as a violation, since it was never acknowledged)."""
        try:
            lines = open(self.audit_path, "rb").read().decode().splitlines()
        except OSError as e:
            self.stats.violation(f"cannot read the audit log: {e}")
            return ""
        last = None
        for n, line in enumerate(lines, 1):
            try:
                entry = json.loads(line)
            except ValueError:
                self.stats.violation(f"audit log line {n} is not JSON: {line[:120]!r}")
                continue
            if entry.get("function") == "hello" and entry.get("outcome") == "ok":
                last = entry
        if last is None or last.get("to") != live_version:
            self.stats.add("audit_gaps")
            return (f"; AUDIT GAP: live {live_version}, last audit entry "
                    f"{last and (last.get('action'), last.get('to'))}")
        return ""


# ---------------------------------------------------------------------------------------
# Rounds


def run_load(host: Host, threads: list, rng: random.Random, stop: threading.Event,
             killed: threading.Event, stats: Stats) -> tuple[float, float]:
    """Starts `threads`, kills the host with SIGKILL after a random delay, stops the
    threads, restarts the host. Returns (kill moment, restart seconds)."""
    for t in threads:
        t.start()
    delay = rng.uniform(*KILL_AFTER)
    time.sleep(delay)
    killed.set()
    host.kill9()
    stop.set()
    for t in threads:
        t.join()
    restart = host.start()
    stats.restarts.append(restart)
    return delay, restart


def main() -> int:
    binary = os.environ["PORTICO_BIN"]
    wasm_dir = os.environ["WASM_DIR"]
    rounds = int(os.environ.get("ROUNDS", "20"))
    writers = int(os.environ.get("WRITERS", "8"))
    probers = int(os.environ.get("PROBERS", "2"))
    seed = int(os.environ.get("SEED") or random.randrange(1 << 32))
    work = os.environ.get("WORK") or tempfile.mkdtemp(prefix="portico-crash-loop.")
    os.makedirs(work, exist_ok=True)
    rng = random.Random(seed)

    for name in ("hello.wasm", "todo.wasm"):
        shutil.copy(os.path.join(wasm_dir, name), os.path.join(work, name))
    hello = open(os.path.join(work, "hello.wasm"), "rb").read()
    manifest = os.path.join(work, "portico.toml")
    with open(manifest, "w") as f:
        f.write("""\
# Written by scripts/crash_loop.py: the todo API and hello, data in ./data.
[data]
backend = "embedded"
dir = "data"

[tables.todos]
partition_key = { name = "id", type = "S" }

[tables.todos.global_indexes.by_status]
partition_key = { name = "status", type = "S" }
sort_key = { name = "created", type = "N" }

[functions.hello]
module = "hello.wasm"
environment = { CRASH_SEQ = "0" }

[functions.todo]
module = "todo.wasm"
tables = ["todos"]

[routes]
"GET /hello" = "hello"
"GET /probe" = "hello"
"POST /todos" = "todo"
"GET /todos/{id}" = "todo"
"PATCH /todos/{id}" = "todo"
""")

    stats = Stats()
    writes = Writes(stats)
    deploys = Deploys(stats, hello, os.path.join(work, "data", "deploy", "audit.log"))
    host = Host(binary, work, manifest)
    log(f"crash loop: {rounds} rounds, {writers} writers, {probers} probers, seed {seed}")
    log(f"binary {binary}; work dir {work}")
    try:
        first = host.start()
        log(f"first start: {first:.2f}s (public :{host.port}, admin :{host.admin_port})")
        for r in range(1, rounds + 1):
            before = len(stats.violations)
            # -- kill -9 during a write load ------------------------------------------
            stop, killed = threading.Event(), threading.Event()
            wc = {"creates": 0, "patches": 0, "rejected": 0, "unanswered": 0,
                  "probes": 0, "probe_failures": 0}
            ts = [threading.Thread(target=writes.writer,
                                   args=(host.port, i, stop, killed,
                                         random.Random(rng.random()), wc))
                  for i in range(writers)]
            ts += [threading.Thread(target=deploys.prober, args=(host.port, stop, killed, wc))
                   for _ in range(probers)]
            w_at, w_restart = run_load(host, ts, rng, stop, killed, stats)
            todos, covered = writes.verify(host.port)
            # -- kill -9 during deploys ------------------------------------------------
            stop, killed = threading.Event(), threading.Event()
            dc = {"deploys": 0, "probes": 0, "probe_failures": 0}
            ts = [threading.Thread(target=deploys.deployer,
                                   args=(host.admin_port, stop, killed, dc))]
            ts += [threading.Thread(target=deploys.prober, args=(host.port, stop, killed, dc))
                   for _ in range(probers)]
            d_at, d_restart = run_load(host, ts, rng, stop, killed, stats)
            how = deploys.verify(host.port, host.admin_port)
            # The data must also survive the second crash.
            todos2, _ = writes.verify(host.port)
            bad = len(stats.violations) - before
            log(f"round {r:2}/{rounds}: writes killed at {w_at:.2f}s: "
                f"{wc['creates']} creates + {wc['patches']} PATCHes acked, "
                f"{wc['rejected']} 409, {wc['unanswered']} unanswered; restart {w_restart:.2f}s; "
                f"{todos} todos verified | deploys killed at {d_at:.2f}s: {dc['deploys']} acked, "
                f"live {how}; restart {d_restart:.2f}s; probes {wc['probes'] + dc['probes']} "
                f"({wc['probe_failures'] + dc['probe_failures']} failed) | violations {bad}")
            if bad:
                log("  host log since the last start:\n" + host.log_tail())
        # Final: everything acknowledged, over all rounds, is still there.
        final_todos, final_covered = writes.verify(host.port)
    finally:
        host.stop()
        if os.environ.get("KEEP_WORK") == "1":
            log(f"work dir kept: {work}")
        elif not os.environ.get("WORK"):
            shutil.rmtree(work, ignore_errors=True)

    acked = stats.creates_acked + stats.patches_acked
    rs = stats.restarts
    log("")
    log("summary")
    log(f"  rounds                               {rounds} (each: kill -9 under writes, kill -9 under deploys)")
    log(f"  acknowledged writes                  {acked} ({stats.creates_acked} creates, {stats.patches_acked} conditional PATCHes)")
    log(f"  conditional writes acknowledged      {stats.patches_acked} (and {stats.patches_rejected} answered 409)")
    log(f"  writes verified present              {final_covered} of {acked} (after the last restart; {final_todos} todos)")
    log(f"  unanswered writes                    {stats.unanswered} (of which PATCHes that landed: {stats.landed_unacked})")
    log(f"  deploys acknowledged                 {stats.deploys_acked} (in-flight deploys that landed: {stats.deploys_landed_unacked})")
    log(f"  audit gaps                           {stats.audit_gaps} (live after restart, missing from deploy/audit.log)")
    log(f"  probes                               {stats.probes}")
    log(f"  probe failures                       {stats.probe_failures}")
    log(f"  restarts after kill -9               {len(rs)}: median {statistics.median(rs):.2f}s, max {max(rs):.2f}s")
    log(f"  violations                           {len(stats.violations)}")
    log(f"  seed                                 {seed}")
    if final_covered != acked and not stats.violations:
        stats.violation(f"verified {final_covered} acknowledged writes of {acked}")
    return 1 if stats.violations else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
