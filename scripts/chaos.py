#!/usr/bin/env python3
"""Chaos localnet driver (run by ./scripts/chaos inside the client namespace it made).

Starts four `yun node run` validators, one per network namespace, a provider agent and a load
generator here; applies perturbations one at a time, heals each and times the recovery; then
checks that every node holds the same block at every height, that every transaction an API
accepted is committed exactly once, and that `yun chain verify` re-executes the chain with
supply conserved. Prints a table per perturbation and exits 1 on any failed check.
Python stdlib only.
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request

RECOVERY_SECS_MAX = 10.0
BASE_PORT = 8700
P2P_PORT_OFFSET = 500
PROVIDER_LISTEN = "127.0.1.100:9100"
DELAY_QUEUE_BASE = 10

DIR = os.environ["CHAOS_DIR"]
NET = os.path.join(DIR, "net")
PREFIX = os.environ.get("PREFIX", "ycx")
NODES = int(os.environ.get("NODES", "4"))
YUN = os.environ["YUN_BIN"]
FAKETIME_LIB = os.environ.get("FAKETIME_LIB", "")
HERE = os.path.dirname(os.path.abspath(__file__))


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def ip_of(i):
    return f"127.0.1.{10 + i}"


def ns_of(i):
    return f"{PREFIX}-v{i}"


def api_of(i):
    return f"http://{ip_of(i)}:{BASE_PORT + i}"


def get_json(url, timeout=2.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def height_of(i, timeout=1.0):
    try:
        return get_json(api_of(i) + "/v1/status", timeout)["height"]
    except Exception:
        return None


def heights():
    return [height_of(i) for i in range(NODES)]


def snapshot():
    """Each node's height, epoch, and its connected p2p peers as seconds since each connection
    was made (None when its API does not answer): a reconnection after a heal shows as a
    small age."""
    out = []
    for i in range(NODES):
        try:
            s = get_json(api_of(i) + "/v1/status", 1.0)
            now_ms = time.time() * 1000
            ages = sorted(round((now_ms - p["connected_since_ms"]) / 1000, 1)
                          for p in s.get("peers") or [] if p.get("connected_since_ms"))
            out.append((s["height"], s["epoch"], ages))
        except Exception:
            out.append(None)
    return out


def run(cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, capture_output=True, text=True, **kw)


def in_ns(i, *cmd):
    return ["ip", "netns", "exec", ns_of(i), *cmd]


def yun_env():
    env = dict(os.environ)
    env["YUN_HOME"] = os.path.join(DIR, "home")
    env.pop("LD_PRELOAD", None)
    return env


# ---------------------------------------------------------------------------------------------
# The network: configs from `yun localnet`, moved onto the namespaces' addresses.


def prepare(disk_node, disk_mb, epoch_blocks):
    """Has `yun localnet` write keys, genesis and configs (by starting it once here, on this
    namespace's own 127.0.0.1, and stopping it), then moves every address onto the namespaces'
    veths and wipes the nodes' stores: the genesis changed, so the chain starts anew."""
    log("writing a 4-validator localnet with `yun localnet` …")
    extra = ["--epoch-blocks", str(epoch_blocks)] if epoch_blocks else []
    run([YUN, "localnet", "-n", str(NODES), "--data-dir", NET, "--base-port", str(BASE_PORT),
         "--detach", *extra], env=yun_env())
    run([YUN, "localnet", "stop", "--data-dir", NET], env=yun_env())
    files = ["genesis.json"] + [f"validator{i}/node.toml" for i in range(NODES)]
    for f in files:
        path = os.path.join(NET, f)
        text = open(path).read()
        for i in range(NODES):
            for port in (BASE_PORT + i, BASE_PORT + P2P_PORT_OFFSET + i):
                text = text.replace(f"127.0.0.1:{port}", f"{ip_of(i)}:{port}")
        if "127.0.0.1" in text:
            raise SystemExit(f"chaos: {path} still names 127.0.0.1 after the rewrite")
        open(path, "w").write(text)
    for i in range(NODES):
        d = os.path.join(NET, f"validator{i}")
        keep = {n: open(os.path.join(d, n), "rb").read() for n in ("node.key", "node.toml")}
        shutil.rmtree(d)
        os.makedirs(d)
        if i == disk_node:
            # Its own small disk, for the disk-full perturbation (private to this mount
            # namespace and the nodes started from it; gone when they all exit).
            run(["mount", "-t", "tmpfs", "-o", f"size={disk_mb}m", "chaos-disk", d])
        for n, b in keep.items():
            with open(os.path.join(d, n), "wb") as f:
                f.write(b)


class Node:
    def __init__(self, i):
        self.i = i
        self.proc = None
        self.expected_down = False

    def start(self, faketime=None):
        cfg = os.path.join(NET, f"validator{self.i}", "node.toml")
        logf = open(os.path.join(NET, f"validator{self.i}", "node.log"), "ab")
        env = yun_env()
        cmd = in_ns(self.i, YUN, "node", "run", "--config", cfg)
        if faketime:
            # Preloaded into yun alone (not into `ip`); the monotonic clock stays true, so
            # timers and timeouts run at the real rate while wall time is skewed.
            env.update(FAKETIME=faketime, FAKETIME_DONT_FAKE_MONOTONIC="1")
            cmd = in_ns(self.i, "env", f"LD_PRELOAD={FAKETIME_LIB}", YUN, "node", "run",
                        "--config", cfg)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                     env=env)
        logf.close()
        self.expected_down = False

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def kill(self):
        self.expected_down = True
        self.signal(signal.SIGKILL)
        self.proc.wait()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=15):
        try:
            with open(os.path.join(NET, f"validator{self.i}", "node.log"), "rb") as f:
                lines = f.read().decode("utf8", "replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError as e:
            return f"(log unreadable: {e})"


def wait_all_up(timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        hs = heights()
        if all(h is not None and h >= 1 for h in hs):
            return hs
        time.sleep(0.5)
    raise SystemExit(f"chaos: not every node served a block within {timeout}s: {heights()}")


# ---------------------------------------------------------------------------------------------
# Load: transfers and jobs through the API, every accepted transaction recorded.


class Load:
    def __init__(self, seed):
        self.accepted = {}  # tx id -> (kind, account, node, time)
        self.refused = {}  # first line of the CLI's error -> count
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.rng = random.Random(seed)
        self.threads = []

    def cli(self, node, *args, timeout=60):
        cmd = [YUN, *args, "--node", api_of(node), "--output", "json", "--no-wait"]
        try:
            out = run(cmd, check=False, env=yun_env(), timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, "timeout"
        if out.returncode != 0:
            return None, (out.stderr.strip().splitlines() or ["?"])[-1]
        return json.loads(out.stdout), None

    def wait_committed(self, tx, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline and not self.stop.is_set():
            for i in range(NODES):
                try:
                    s = get_json(f"{api_of(i)}/v1/txs/{tx}", 1.0)
                    if s["state"] != "pending":
                        return s["state"]
                except Exception:
                    continue
            time.sleep(0.3)
        return "pending"

    def worker(self, kind, account, peer):
        node = account % NODES
        while not self.stop.is_set():
            if kind == "transfer":
                out, err = self.cli(node, "tx", "transfer", "--from", f"dev{account}",
                                    "--to", f"dev{peer}", "--amount", "1")
                tx = out and out.get("id")
            else:
                out, err = self.cli(node, "job", "submit", os.path.join(DIR, "chaos-job.toml"),
                                    "--from", f"dev{account}")
                tx = out and out.get("job")
            if not tx:
                with self.lock:
                    reason = re.sub(r"[0-9a-f]{16,}|yun1[0-9a-z]+|\d+", "…", err or "?")[:120]
                    self.refused[reason] = self.refused.get(reason, 0) + 1
                node = (node + 1) % NODES
                self.stop.wait(0.5)
                continue
            with self.lock:
                self.accepted[tx] = (kind, account, node, time.time())
            self.wait_committed(tx)
            self.stop.wait(self.rng.uniform(0.1, 0.5) if kind == "transfer" else 8.0)

    def start(self):
        for a in range(4):
            self.threads.append(threading.Thread(target=self.worker,
                                                 args=("transfer", a, a + 4), daemon=True))
        self.threads.append(threading.Thread(target=self.worker, args=("job", 8, 0),
                                             daemon=True))
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=90)


def write_job():
    pi = os.path.join(ARGS.repo, "guest/target/wasm32-wasip1/release/pi.wasm")
    with open(os.path.join(DIR, "chaos-job.toml"), "w") as f:
        f.write(f"""program = "{pi}"
args = ["--samples", "20000"]
fuel_per_task = 50_000_000
memory_mb = 64
bid_per_mfuel = "100"
deadline_blocks = 300
[verification]
policy = "none"
[inputs]
count = 2
""")


def start_provider():
    logf = open(os.path.join(DIR, "provider.log"), "ab")
    p = subprocess.Popen(
        [YUN, "provider", "run", "--from", "dev9", "--slots", "1", "--memory-mb", "128",
         "--listen", PROVIDER_LISTEN, "--endpoint", f"http://{PROVIDER_LISTEN}",
         "--data-dir", os.path.join(DIR, "provider"), "--node", api_of(0)],
        stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, env=yun_env())
    return p


# ---------------------------------------------------------------------------------------------
# Perturbations: each applies, holds, heals; the driver times the recovery after the heal.


def iptables(i, *rule):
    run(in_ns(i, "iptables-legacy", *rule))


def flush_rules(i):
    run(in_ns(i, "iptables-legacy", "-F"))


def connect_ms(i):
    """Milliseconds for a TCP handshake with node i's API (its SYN-ACK crosses its egress)."""
    import socket
    t = time.monotonic()
    try:
        socket.create_connection((ip_of(i), BASE_PORT + i), timeout=3).close()
    except OSError:
        return float("inf")
    return (time.monotonic() - t) * 1000


class Latency:
    key = "latency"
    kind = "latency+jitter"

    def __init__(self, targets, delay_ms, jitter_ms, hold):
        self.targets, self.delay, self.jitter, self.hold = targets, delay_ms, jitter_ms, hold
        self.procs = []
        self.detail = f"{delay_ms}±{jitter_ms} ms egress (NFQUEUE)"

    def apply(self, nodes):
        for i in self.targets:
            q = DELAY_QUEUE_BASE + i
            p = subprocess.Popen(in_ns(i, "python3", os.path.join(HERE, "chaos_delay.py"),
                                       str(q), str(self.delay), str(self.jitter)),
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            p.stdout.readline()  # bound to the queue
            self.procs.append(p)
            iptables(i, "-A", "OUTPUT", "-o", "eth0", "-j", "NFQUEUE", "--queue-num", str(q),
                     "--queue-bypass")
        rtts = sorted(connect_ms(self.targets[0]) for _ in range(9))
        self.detail += f"; TCP connect to v{self.targets[0]} p50 {rtts[4]:.0f} ms"

    def heal(self, nodes):
        for i in self.targets:
            flush_rules(i)
        for p in self.procs:
            p.terminate()
            p.wait()


class Loss:
    key = "loss"
    kind = "packet loss"

    def __init__(self, targets, pct, hold):
        self.targets, self.pct, self.hold = targets, pct, hold
        self.detail = f"{pct}% each way (iptables statistic)"

    def apply(self, nodes):
        p = f"{self.pct / 100:.2f}"
        for i in self.targets:
            for chain, flag in (("INPUT", "-i"), ("OUTPUT", "-o")):
                iptables(i, "-A", chain, flag, "eth0", "-m", "statistic", "--mode", "random",
                         "--probability", p, "-j", "DROP")

    def heal(self, nodes):
        for i in self.targets:
            flush_rules(i)


class Partition:
    key = "partition"
    kind = "partition"

    def __init__(self, side_a, hold):
        self.a = side_a
        self.b = [i for i in range(NODES) if i not in side_a]
        self.targets = list(range(NODES))
        self.hold = hold
        self.detail = f"{len(self.a)}–{len(self.b)}: p2p and API between sides dropped"

    def target_text(self):
        return "{" + ",".join(f"v{i}" for i in self.a) + "}|{" + ",".join(
            f"v{i}" for i in self.b) + "}"

    def apply(self, nodes):
        for side, other in ((self.a, self.b), (self.b, self.a)):
            for i in side:
                for j in other:
                    iptables(i, "-A", "INPUT", "-s", ip_of(j), "-j", "DROP")
                    iptables(i, "-A", "OUTPUT", "-d", ip_of(j), "-j", "DROP")

    def heal(self, nodes):
        for i in self.targets:
            flush_rules(i)


class Kill:
    key = "kill"
    kind = "SIGKILL+restart"

    def __init__(self, targets, hold):
        self.targets, self.hold = targets, hold
        self.detail = f"down {hold}s, then `yun node run` again"

    def apply(self, nodes):
        for i in self.targets:
            nodes[i].kill()

    def heal(self, nodes):
        for i in self.targets:
            nodes[i].start()


class Stop:
    key = "stop"
    kind = "SIGSTOP/SIGCONT"

    def __init__(self, targets, hold):
        self.targets, self.hold = targets, hold
        self.detail = f"frozen {hold}s"

    def apply(self, nodes):
        for i in self.targets:
            nodes[i].signal(signal.SIGSTOP)

    def heal(self, nodes):
        for i in self.targets:
            nodes[i].signal(signal.SIGCONT)


class DiskFull:
    key = "disk"
    kind = "disk full"

    def __init__(self, target, hold):
        self.targets, self.hold = [target], hold
        self.detail = ""
        self.path = os.path.join(NET, f"validator{target}", "chaos-fill")

    def apply(self, nodes):
        filled = 0
        chunk = b"\0" * (1 << 20)
        with open(self.path, "wb") as f:
            try:
                while True:
                    f.write(chunk)
                    f.flush()
                    filled += 1
            except OSError:
                pass
        st = os.statvfs(os.path.dirname(self.path))
        self.detail = f"tmpfs filled ({filled} MiB, {st.f_bavail * st.f_frsize} B left)"

    def heal(self, nodes):
        os.remove(self.path)
        i = self.targets[0]
        if not nodes[i].alive():
            self.detail += f"; node exited (code {nodes[i].proc.returncode}), restarted"
            nodes[i].start()
        else:
            self.detail += "; node kept running"


class ClockSkew:
    key = "clock"
    kind = "clock skew"

    def __init__(self, target, offset, hold):
        self.targets, self.offset, self.hold = [target], offset, hold
        self.detail = f"restarted under libfaketime FAKETIME={offset}, then restarted true"

    def apply(self, nodes):
        i = self.targets[0]
        nodes[i].kill()
        nodes[i].start(faketime=self.offset)

    def heal(self, nodes):
        i = self.targets[0]
        nodes[i].kill()
        nodes[i].start()


KINDS = ["latency", "loss", "partition", "kill", "stop", "disk", "clock"]


def schedule(count, disk_node, only):
    """At least `count` perturbations: every kind, both partition shapes, cycled."""
    n = list(range(NODES))
    base = [
        Latency([0], 100, 30, 10),
        Loss([1], 20, 10),
        Partition([0, 1], 10),
        Kill([2], 5),
        Stop([3], 8),
        Partition([3], 10),
        Latency(n, 80, 40, 10),
        DiskFull(disk_node, 10),
        ClockSkew(2, "+2s", 12),
        Loss([0], 50, 10),
        Partition([0, 2], 10),
        Kill([0], 5),
        Stop([1], 8),
        Partition([1], 10),
        Latency([3], 250, 100, 10),
        ClockSkew(1, "-2s", 12),
        Loss(n, 10, 10),
        Partition([0, 3], 10),
        Kill([3], 8),
        Stop([0, 1], 6),
        Partition([2], 10),
        Kill([1], 3),
    ]
    if only:
        base = [p for p in base if p.key in only]
        if not base:
            raise SystemExit(f"chaos: --only {','.join(only)} names no perturbation kind; "
                             f"kinds: {', '.join(KINDS)}")
    out = []
    while len(out) < count:
        out.extend(base)
    return out[:count]


# ---------------------------------------------------------------------------------------------
# The run.


def settle(nodes, timeout=60):
    """Waits until every node is up and within 2 blocks of the others, and the chain moves."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        hs = heights()
        if all(h is not None for h in hs) and max(hs) - min(hs) <= 2:
            time.sleep(1.0)
            hs2 = heights()
            if all(h is not None for h in hs2) and min(hs2) > min(hs):
                return hs2
        time.sleep(0.5)
    return heights()


def measure_recovery(pre_heal_max, timeline, timeout=60):
    """Seconds from the heal until every node's height passes `pre_heal_max`, sampling
    (seconds since the heal, each node's `snapshot`) into `timeline`."""
    start = time.time()
    while time.time() - start < timeout:
        snap = snapshot()
        timeline.append((round(time.time() - start, 2), snap))
        hs = [s[0] if s else None for s in snap]
        if all(h is not None and h > pre_heal_max for h in hs):
            return time.time() - start, hs
        time.sleep(0.1)
    return None, heights()


def perturb(p, nodes):
    before = settle(nodes)
    p.apply(nodes)
    applied = time.time()
    timeline = []
    while time.time() < applied + p.hold:
        timeline.append((round(time.time() - applied - p.hold, 2), snapshot()))
        time.sleep(max(0.0, min(1.0, applied + p.hold - time.time())))
    during = heights()
    t0 = time.time()
    p.heal(nodes)
    heal_secs = time.time() - t0
    pre_heal_max = max([h for h in during + before if h is not None] or [0])
    recovery, after = measure_recovery(pre_heal_max, timeline)
    crashed = [n.i for n in nodes if not n.alive()]
    ok = recovery is not None and recovery <= RECOVERY_SECS_MAX and not crashed
    target = p.target_text() if hasattr(p, "target_text") else ",".join(
        f"v{i}" for i in p.targets)
    row = dict(kind=p.kind, target=target, duration_s=p.hold, before=before, during=during,
               after=after, pre_heal_max=pre_heal_max, recovery_s=recovery,
               heal_action_s=round(heal_secs, 2), detail=p.detail, crashed=crashed, ok=ok,
               timeline=timeline)
    for i in crashed:
        row["detail"] += f"; v{i} exited unexpectedly: {nodes[i].log_tail(5)!r}"
        nodes[i].start()
    return row


def fmt_heights(hs):
    return "/".join("-" if h is None else str(h) for h in hs)


def print_table(rows):
    head = f"{'#':>2}  {'kind':<16} {'target':<14} {'dur s':>5}  {'heights before':<20} " \
           f"{'heights after':<20} {'recovery s':>10}  result  detail"
    print(head)
    print("-" * len(head))
    for k, r in enumerate(rows, 1):
        rec = "never" if r["recovery_s"] is None else f"{r['recovery_s']:.1f}"
        print(f"{k:>2}  {r['kind']:<16} {r['target']:<14} {r['duration_s']:>5}  "
              f"{fmt_heights(r['before']):<20} {fmt_heights(r['after']):<20} {rec:>10}  "
              f"{'pass' if r['ok'] else 'FAIL':<6}  {r['detail']}")


def check_chain(load):
    """Same hash per height on every node; every accepted tx committed exactly once."""
    failures = []
    deadline = time.time() + 60
    while time.time() < deadline:
        hs = heights()
        if all(h is not None for h in hs):
            break
        time.sleep(1)
    top = min(h for h in hs if h is not None)
    log(f"comparing block hashes at heights 1…{top} on {NODES} nodes …")
    counts = {}
    mismatched = []
    for height in range(1, top + 1):
        blocks = []
        for i in range(NODES):
            for attempt in range(5):
                try:
                    blocks.append(get_json(f"{api_of(i)}/v1/blocks/{height}", 5.0))
                    break
                except Exception:
                    time.sleep(0.5)
            else:
                blocks.append(None)
        hashes = {b["hash"] if b else None for b in blocks}
        if len(hashes) != 1 or None in hashes:
            mismatched.append((height, [b["hash"] if b else None for b in blocks]))
        for tx in blocks[0]["tx_ids"] if blocks[0] else []:
            counts[tx] = counts.get(tx, 0) + 1
    if mismatched:
        failures.append(f"block hashes differ at {len(mismatched)} heights, first: "
                        f"{mismatched[0]}")
    never = [t for t in load.accepted if counts.get(t, 0) == 0]
    twice = [t for t, c in counts.items() if c > 1]
    # A tx found in no block up to `top` may still be pending: ask its state once more.
    lost = []
    for t in never:
        try:
            s = get_json(f"{api_of(0)}/v1/txs/{t}", 5.0)
            lost.append((t, s["state"], (s.get("rejection") or {}).get("name"),
                         load.accepted[t]))
        except Exception as e:
            lost.append((t, f"unknown: {e}", None, load.accepted[t]))
    if lost:
        failures.append(f"{len(lost)} accepted transactions never committed, e.g. {lost[:3]}")
    if twice:
        failures.append(f"{len(twice)} transactions committed more than once: {twice[:3]}")
    return top, counts, failures, lost


def job_statuses(load):
    """How the posted jobs ended (informational: the checks are about transactions)."""
    out = {}
    for tx, (kind, *_rest) in load.accepted.items():
        if kind != "job":
            continue
        try:
            st = get_json(f"{api_of(0)}/v1/jobs/{tx}", 5.0).get("status", "?")
        except Exception:
            st = "not found"
        st = st if isinstance(st, str) else json.dumps(st)
        out[st] = out.get(st, 0) + 1
    return out


def chain_verify():
    out = run([YUN, "chain", "verify", "--node", api_of(0), "--output", "json"], check=False,
              env=yun_env(), timeout=1800)
    if out.returncode != 0:
        return None, (out.stderr.strip().splitlines() or ["?"])[-1]
    return json.loads(out.stdout), None


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", required=True)
    ap.add_argument("--disk-node", type=int, default=3)
    ap.add_argument("--disk-mb", type=int, default=512)
    ap.add_argument("--perturbations", type=int, default=22)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--only", default="", help=f"comma-separated kinds: {','.join(KINDS)}")
    ap.add_argument("--epoch-blocks", type=int, default=None)
    ARGS = ap.parse_args()
    if ARGS.perturbations < 1:
        raise SystemExit("chaos: --perturbations must be at least 1")
    only = [k for k in ARGS.only.split(",") if k]
    prepare(ARGS.disk_node, ARGS.disk_mb, ARGS.epoch_blocks)
    write_job()
    nodes = [Node(i) for i in range(NODES)]
    for n in nodes:
        n.start()
    log(f"validators up at heights {fmt_heights(wait_all_up())}; data in {DIR}")
    provider = start_provider()
    load = Load(ARGS.seed)
    load.start()
    time.sleep(5)
    rows = []
    plan = schedule(ARGS.perturbations, ARGS.disk_node, only)
    for k, p in enumerate(plan, 1):
        target = p.target_text() if hasattr(p, "target_text") else ",".join(
            f"v{i}" for i in p.targets)
        log(f"perturbation {k}/{len(plan)}: {p.kind} on {target} for {p.hold}s")
        row = perturb(p, nodes)
        rec = row["recovery_s"]
        log(f"  heights {fmt_heights(row['before'])} -> {fmt_heights(row['after'])}, "
            f"recovered in {'never' if rec is None else f'{rec:.1f}s'}: "
            f"{'pass' if row['ok'] else 'FAIL'} ({row['detail']})")
        rows.append(row)
    log("stopping the load; waiting for its last transactions …")
    load.finish()
    time.sleep(3)
    top, counts, failures, lost = check_chain(load)
    log(f"running `yun chain verify` against {api_of(0)} …")
    verified, err = chain_verify()
    if err:
        failures.append(f"yun chain verify failed: {err}")
    provider.terminate()
    jobs = sum(1 for v in load.accepted.values() if v[0] == "job")
    print()
    print_table(rows)
    print()
    failed_rows = [r for r in rows if not r["ok"]]
    worst = max((r["recovery_s"] or 0) for r in rows)
    print(f"perturbations: {len(rows)}, failed: {len(failed_rows)}; slowest recovery "
          f"{worst:.1f}s (limit {RECOVERY_SECS_MAX:.0f}s)")
    print(f"blocks compared: 1…{top} on {NODES} nodes; transactions accepted by the APIs: "
          f"{len(load.accepted)} ({jobs} job postings), committed exactly once: "
          f"{sum(1 for t in load.accepted if counts.get(t) == 1)}, refused or unreachable "
          f"submissions: {sum(load.refused.values())}")
    for reason, n in sorted(load.refused.items(), key=lambda kv: -kv[1]):
        print(f"  refused {n}×: {reason}")
    print(f"jobs by status: {job_statuses(load)}")
    if verified:
        print(f"yun chain verify: {verified['verified_height']} blocks, "
              f"{verified['transactions']} transactions, supply {verified['genesis_supply']} + {verified['minted']} minted "
              f"conserved, {verified['burned']} burned")
    for f in failures:
        print(f"FAIL: {f}")
    with open(os.path.join(DIR, "report.json"), "w") as f:
        json.dump(dict(rows=rows, failures=failures, verified=verified,
                       accepted=len(load.accepted), lost=lost, seed=ARGS.seed), f, indent=1,
                  default=str)
    for n in nodes:
        if n.alive():
            n.signal(signal.SIGTERM)
    for n in nodes:
        try:
            n.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            n.kill()
    ok = not failures and not failed_rows
    print("chaos: PASS" if ok else "chaos: FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
