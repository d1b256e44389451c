#!/usr/bin/env python3
"""Soak test: a real cosmo-server under mixed traffic, deploys, rollbacks and hostile scripts.

Starts cosmo-server on loopback (ephemeral ports, LevelDB in a temporary directory), deploys
--families route families through cosmoctl (JavaScript, a few Liquid, and hostile scripts whose
errors are the expected outcome), then for --duration sends keep-alive HTTP traffic from
--concurrency client threads while a deployer thread deploys a new version or rolls one back
every --deploy-interval. Prints a report and exits non-zero on:

  * any unexpected outcome: a 5xx (or any non-200) from a healthy family, or a hostile family
    answering with something else than its documented error status;
  * a connection error or timeout (a healthy server never drops a keep-alive client);
  * a failed deploy or rollback;
  * a crash: the server exiting during the run, or not exiting 0 on SIGTERM;
  * RSS drift >= --max-rss-drift percent, comparing the quiesced RSS after warm-up with the
    quiesced RSS at the end (traffic paused for --settle each time, so the comparison does not
    depend on where a hostile heap-growth script happened to be). The server runs with glibc's
    per-thread malloc caches off (--malloc-tcache-count): they fill for about 15 minutes, up to
    235 KiB per thread, which a run of minutes cannot tell from a leak. This figure holds every
    live isolate, whose number the memory budget moves by several from one sample to the next,
    so it swings by ±9% in a healthy run: its gate only catches runaway growth;
  * with --idle-timeout, unloaded RSS drift >= --max-unloaded-drift percent (below), or an
    unloaded sample that never came (activations still live 30 s after the idle timeout).

With --idle-timeout (passed to the server), each quiesced sample is followed by an unloaded one:
traffic stays paused until the idle timeout has unloaded every activation, then RSS is sampled
again. That is the memory the server keeps with no isolate alive, so it leaves out the isolate
count's swing under the memory budget, and a leak anywhere else (an isolate's lifecycle
included) keeps raising it: the leak gate. What still moves it in a healthy run is LevelDB's
memtable (a sawtooth of up to 4 MiB) and worker stacks within their window, about ±4%.

  benchmarks/soak/soak.py --server-bin build/hosts/grpc_server/cosmo-server \\
      --ctl-bin build/hosts/cosmoctl/cosmoctl --duration=60s
"""

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict

# Healthy JavaScript: answers 200 with a body naming the family and version.
JS_HEALTHY = """export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const n = Number(url.searchParams.get("n") || "10");
    let sum = 0;
    for (let i = 0; i < n; i++) sum += i;
    if (request.method === "POST") {
      const body = await request.text();
      return new Response(JSON.stringify({ family: "%(family)s", version: %(version)d,
                                           echoed: body.length, sum }),
                          { headers: { "content-type": "application/json" } });
    }
    return new Response("ok %(family)s v%(version)d " + sum + "\\n");
  },
};
"""

LIQUID_HEALTHY = """{%%- assign items = "a,b,c,d,e,f,g,h" | split: "," -%%}
ok %(family)s v%(version)d
{%% for item in items %%}<li class="{%% cycle 'odd', 'even' %%}">{{ item | upcase }}</li>{%% endfor %%}
{{ request.method }} {{ request.path | escape }}
"""

# Hostile scripts: (kind, engine, source, statuses that are the documented outcome).
HOSTILE = {
    "spin": ("javascript", "export default { fetch() { while (true) {} } };\n", {503}),
    "heap": ("javascript",
             "export default { fetch() { const a = []; "
             "while (true) { a.push(new Array(1e5).fill(1)); } } };\n", {503}),
    "recurse": ("javascript",
                "function f(n) { return f(n + 1) + 1; }\n"
                "export default { fetch() { return new Response(String(f(0))); } };\n", {500}),
    "never": ("javascript", "export default { fetch() { return new Promise(() => {}); } };\n",
              {500, 504}),
    "throws": ("javascript", "export default { fetch() { throw new TypeError('nope'); } };\n",
               {500}),
    "liquid-loop": ("liquid",
                    "{% for i in (1..100000000) %}{% for j in (1..1000) %}{{ j }}{% endfor %}"
                    "{% endfor %}\n", {500, 503}),
}


def die_with_parent():
    """In the child before exec: SIGKILL when this script dies, even by SIGKILL (a ctest timeout),
    so no server outlives the run."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def parse_duration(text):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", text)
    if not m:
        raise argparse.ArgumentTypeError(f"bad duration '{text}' (e.g. 60s, 10m)")
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]
    return float(m.group(1)) * scale


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def percentile(sorted_values, p):
    if not sorted_values:
        return 0.0
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * len(sorted_values))) - 1))
    return sorted_values[k]


class Soak:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="cosmo-soak-")
        self.server = None
        self.grpc = None
        self.http_port = None
        self.families = {}  # name -> (kind, expected statuses or None for healthy)
        self.lock = threading.Lock()
        self.outcomes = Counter()  # (class, status) -> count
        self.by_family_unexpected = Counter()
        self.unexpected_samples = []
        self.latencies = defaultdict(list)  # class -> seconds
        self.conn_errors = 0
        self.control_ok = Counter()
        self.control_failures = []
        self.versions = defaultdict(int)
        self.stop = threading.Event()
        self.running = threading.Event()  # cleared to quiesce traffic
        self.running.set()
        self.idle_workers = 0
        self.idle_cv = threading.Condition()
        self.crashed = None
        self.host_metrics = []  # at each quiesced RSS sample
        self.quiesced = []  # (seconds since traffic started, RSS KiB) at each quiesced sample
        self.unloaded = []  # the same once every activation is unloaded (--idle-timeout)
        self.unloaded_metrics = []

    # --- processes --------------------------------------------------------------------------

    def start_server(self):
        cmd = [self.args.server_bin, f"--data-dir={self.tmp}/data", "--store=leveldb",
               "--grpc-listen=127.0.0.1:0", "--http-listen=127.0.0.1:0",
               f"--max-cpu-ms={self.args.max_cpu_ms}", f"--max-memory-mb={self.args.max_memory_mb}",
               f"--max-wall-ms={self.args.max_wall_ms}",
               f"--memory-budget-mb={self.args.memory_budget_mb}", "--shutdown-grace=5s"]
        if self.args.idle_timeout > 0:
            cmd.append(f"--idle-timeout={self.args.idle_timeout:g}s")
        self.server_log = open(os.path.join(self.tmp, "server.log"), "w+")
        env = dict(os.environ)
        if self.args.malloc_arena_max > 0:
            env["MALLOC_ARENA_MAX"] = str(self.args.malloc_arena_max)
        if self.args.malloc_tcache_count >= 0:
            tunable = f"glibc.malloc.tcache_count={self.args.malloc_tcache_count}"
            env["GLIBC_TUNABLES"] = ":".join(filter(None, [env.get("GLIBC_TUNABLES"), tunable]))
        self.server = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.server_log,
                                       text=True, start_new_session=True, env=env,
                                       preexec_fn=die_with_parent)
        deadline = time.time() + 30
        while time.time() < deadline and (self.grpc is None or self.http_port is None):
            line = self.server.stdout.readline()
            if not line:
                raise RuntimeError("cosmo-server exited during startup; see " + self.server_log.name)
            m = re.search(r"control plane \(gRPC\) listening on (\S+)", line)
            if m:
                self.grpc = m.group(1)
            m = re.search(r"data plane \(HTTP\) listening on [\d.]+:(\d+)", line)
            if m:
                self.http_port = int(m.group(1))
        if self.grpc is None or self.http_port is None:
            raise RuntimeError("cosmo-server did not report its ports")
        # Keep draining stdout so the server never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.server.stdout], daemon=True).start()

    def stop_server(self):
        if self.server is None or self.server.poll() is not None:
            return self.server.returncode if self.server else None
        self.server.send_signal(signal.SIGTERM)
        try:
            return self.server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait()
            return "hung on SIGTERM (killed)"

    def kill_all(self):
        if self.server is not None and self.server.poll() is None:
            try:
                os.killpg(self.server.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.server.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def ctl(self, *argv):
        cmd = [self.args.ctl_bin, f"--server={self.grpc}", "--timeout=30", *argv]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        return r.returncode, (r.stdout + r.stderr).strip()

    # --- deploys ----------------------------------------------------------------------------

    def source_for(self, name):
        kind, _ = self.families[name]
        self.versions[name] += 1
        v = self.versions[name]
        if kind == "js":
            return JS_HEALTHY % {"family": name, "version": v}, ".js"
        if kind == "liquid":
            return LIQUID_HEALTHY % {"family": name, "version": v}, ".liquid"
        engine, source, _ = HOSTILE[kind]
        return source, ".liquid" if engine == "liquid" else ".js"

    def deploy(self, name):
        source, suffix = self.source_for(name)
        path = os.path.join(self.tmp, f"{name}-{self.versions[name]}{suffix}")
        with open(path, "w") as f:
            f.write(source)
        rc, out = self.ctl("deploy", name, path)
        os.unlink(path)
        with self.lock:
            if rc == 0:
                self.control_ok["deploy"] += 1
            else:
                self.control_failures.append(f"deploy {name}: rc={rc} {out}")
        return rc == 0

    def rollback(self, name):
        rc, out = self.ctl("rollback", name)
        with self.lock:
            if rc == 0:
                self.control_ok["rollback"] += 1
            else:
                self.control_failures.append(f"rollback {name}: rc={rc} {out}")

    def setup_families(self):
        hostile_kinds = list(HOSTILE)
        n = self.args.families
        liquid = max(1, n // 20)
        for kind in hostile_kinds:
            self.families[f"bad-{kind}"] = (kind, HOSTILE[kind][2])
        for i in range(liquid):
            self.families[f"liq-{i:03d}"] = ("liquid", None)
        for i in range(n - len(hostile_kinds) - liquid):
            self.families[f"js-{i:03d}"] = ("js", None)
        names = list(self.families)
        errors = []

        def work(chunk):
            for name in chunk:
                if not self.deploy(name):
                    errors.append(name)

        threads = [threading.Thread(target=work, args=(names[i::8],)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise RuntimeError("initial deploys failed: " + "; ".join(self.control_failures[:5]))

    # --- traffic ----------------------------------------------------------------------------

    def pick(self, rng, healthy, hostile):
        if rng.random() < self.args.hostile_fraction:
            return rng.choice(hostile)
        return rng.choice(healthy)

    def worker(self, seed):
        rng = random.Random(seed)
        healthy = [f for f, (_, exp) in self.families.items() if exp is None]
        hostile = [f for f, (_, exp) in self.families.items() if exp is not None]
        conn = None
        while not self.stop.is_set():
            if not self.running.is_set():
                if conn is not None:
                    conn.close()
                    conn = None
                with self.idle_cv:
                    self.idle_workers += 1
                    self.idle_cv.notify_all()
                self.running.wait()
                with self.idle_cv:
                    self.idle_workers -= 1
                continue
            name = self.pick(rng, healthy, hostile)
            kind, expected = self.families[name]
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=15)
            post = kind == "js" and rng.random() < 0.2
            path = f"/{name}/item/{rng.randrange(1000)}?n={rng.randrange(1, 2000)}"
            t0 = time.perf_counter()
            try:
                if post:
                    body = "x" * rng.randrange(0, 4096)
                    conn.request("POST", path, body=body,
                                 headers={"Content-Type": "text/plain"})
                else:
                    conn.request("GET", path)
                resp = conn.getresponse()
                data = resp.read()
                status = resp.status
                closing = resp.getheader("Connection", "").lower() == "close"
            except (OSError, http.client.HTTPException) as e:
                with self.lock:
                    self.conn_errors += 1
                    if len(self.unexpected_samples) < 20:
                        self.unexpected_samples.append(f"{name}: connection error {e!r}")
                conn.close()
                conn = None
                if self.server.poll() is not None:
                    self.crashed = f"cosmo-server exited with {self.server.returncode}"
                    self.stop.set()
                continue
            elapsed = time.perf_counter() - t0
            cls = "healthy" if expected is None else "hostile"
            if expected is None:
                ok = status == 200 and (data.startswith(f"ok {name} v".encode()) or
                                        (post and f'"family":"{name}"'.encode() in data))
            else:
                ok = status in expected
            with self.lock:
                self.outcomes[(cls if expected is None else f"hostile:{kind}", status)] += 1
                self.latencies[cls].append(elapsed)
                if not ok:
                    self.by_family_unexpected[name] += 1
                    if len(self.unexpected_samples) < 20:
                        self.unexpected_samples.append(
                            f"{name}: {status} {data[:160].decode(errors='replace')!r}")
            if closing:
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def deployer(self):
        rng = random.Random(7)
        healthy = [f for f, (_, exp) in self.families.items() if exp is None]
        deployed = []
        while not self.stop.wait(self.args.deploy_interval):
            if not self.running.is_set():
                continue
            if deployed and rng.random() < 0.4:
                self.rollback(deployed.pop(rng.randrange(len(deployed))))
            else:
                name = rng.choice(healthy)
                if self.deploy(name):
                    deployed.append(name)

    def metrics(self):
        """The host's gauges and counters of interest, summed over labels."""
        wanted = ("cosmo_live_instances", "cosmo_instance_memory_bytes", "cosmo_active_families",
                  "cosmo_evictions_total", "cosmo_instances_created_total",
                  "cosmo_instances_discarded_total", "cosmo_load_shed_total",
                  "cosmo_idle_memory_releases_total", "cosmo_process_heap_bytes")
        found = Counter()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=10)
            conn.request("GET", "/_cosmo/metrics")
            text = conn.getresponse().read().decode()
            conn.close()
        except (OSError, http.client.HTTPException):
            return {}
        for line in text.splitlines():
            name = re.split(r"[{ ]", line, maxsplit=1)[0]
            if name in wanted:
                if name == "cosmo_process_heap_bytes":  # keep in_use and free apart
                    name += "_" + re.search(r'state="(\w+)"', line).group(1)
                found[name] += float(line.rsplit(" ", 1)[1])
        return {k[len("cosmo_"):]: int(v) for k, v in found.items()}

    def quiesced_rss(self, workers, t0):
        """Pauses traffic, waits --settle, returns the median of five RSS samples (KiB)."""
        self.running.clear()
        with self.idle_cv:
            self.idle_cv.wait_for(lambda: self.idle_workers >= workers or self.stop.is_set(),
                                  timeout=30)
        time.sleep(self.args.settle)
        rss = self.median_rss()
        self.host_metrics.append(self.metrics())
        self.quiesced.append((time.time() - t0, rss))
        if self.args.idle_timeout > 0:
            self.unloaded_rss(t0)
        self.running.set()
        return rss

    def median_rss(self):
        """The median of five RSS samples 0.2 s apart (KiB)."""
        samples = []
        for _ in range(5):
            samples.append(rss_kib(self.server.pid) or 0)
            time.sleep(0.2)
        return sorted(samples)[2]

    def unloaded_rss(self, t0):
        """With traffic still paused: waits until the idle timeout has unloaded every activation
        (and the host has given the memory back), then samples RSS like quiesced_rss."""
        deadline = time.time() + self.args.idle_timeout + 30
        m = {}
        while time.time() < deadline:
            m = self.metrics()
            if m.get("live_instances", 1) == 0 and m.get("active_families", 1) == 0:
                break
            time.sleep(0.25)
        else:
            self.unloaded.append((time.time() - t0, None))
            self.unloaded_metrics.append(m)
            return
        time.sleep(0.5)  # the trim after the unloads runs in the same maintenance tick
        rss = self.median_rss()
        self.unloaded_metrics.append(self.metrics())
        self.unloaded.append((time.time() - t0, rss))

    # --- run --------------------------------------------------------------------------------

    def run(self):
        a = self.args
        self.start_server()
        t_setup = time.time()
        self.setup_families()
        setup_s = time.time() - t_setup
        rss_start = rss_kib(self.server.pid)
        workers = [threading.Thread(target=self.worker, args=(i,), daemon=True)
                   for i in range(a.concurrency)]
        deployer = threading.Thread(target=self.deployer, daemon=True)
        t0 = time.time()
        for t in workers:
            t.start()
        deployer.start()
        # Leave a comparison window: at least the last minute (or half of a short run).
        warmup = min(a.warmup, max(a.duration / 2, a.duration - 60))
        rss_samples = []
        rss_warm = None
        rss_peak = 0
        next_quiesce = None
        while time.time() - t0 < a.duration and not self.stop.is_set():
            time.sleep(1)
            if self.server.poll() is not None:
                self.crashed = f"cosmo-server exited with {self.server.returncode}"
                break
            r = rss_kib(self.server.pid) or 0
            rss_peak = max(rss_peak, r)
            rss_samples.append((round(time.time() - t0), r))
            if rss_warm is None and time.time() - t0 >= warmup:
                rss_warm = self.quiesced_rss(a.concurrency, t0)
                next_quiesce = time.time() + a.quiesce_every if a.quiesce_every > 0 else None
            elif next_quiesce is not None and time.time() >= next_quiesce and \
                    a.duration - (time.time() - t0) > a.quiesce_every / 2:
                self.quiesced_rss(a.concurrency, t0)
                next_quiesce += a.quiesce_every
        if rss_warm is None and self.crashed is None:
            rss_warm = self.quiesced_rss(a.concurrency, t0)
        rss_end = None
        if self.crashed is None:
            rss_end = self.quiesced_rss(a.concurrency, t0)
        self.stop.set()
        self.running.set()
        for t in workers:
            t.join(timeout=30)
        deployer.join(timeout=60)
        elapsed = time.time() - t0
        exit_code = self.stop_server()
        if self.crashed is None and exit_code != 0:
            self.crashed = f"cosmo-server exit on SIGTERM: {exit_code}"
        return self.report(elapsed, setup_s, rss_start, rss_warm, rss_end, rss_peak,
                           rss_samples, exit_code)

    def report(self, elapsed, setup_s, rss_start, rss_warm, rss_end, rss_peak, rss_samples,
               exit_code):
        a = self.args
        total = sum(self.outcomes.values())
        unexpected = sum(self.by_family_unexpected.values())
        drift = None
        if rss_warm and rss_end:
            drift = 100.0 * (rss_end - rss_warm) / rss_warm
        lat = {k: sorted(v) for k, v in self.latencies.items()}
        kinds = Counter(k for k, _ in self.families.values())
        lines = [
            f"soak: {elapsed:.0f} s, {len(self.families)} families "
            f"({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}), "
            f"{a.concurrency} clients, deploy/rollback every {a.deploy_interval:g} s, "
            f"memory budget {a.memory_budget_mb} MiB, MALLOC_ARENA_MAX "
            f"{a.malloc_arena_max or 'unset'}, malloc tcache_count "
            f"{'default' if a.malloc_tcache_count < 0 else a.malloc_tcache_count}",
            f"requests: {total} ({total / max(elapsed, 1e-9):.0f}/s), "
            f"setup (first deploys) {setup_s:.1f} s",
            "outcomes by class and status:",
        ]
        for (cls, status), n in sorted(self.outcomes.items()):
            lines.append(f"  {cls:20s} {status}: {n}")
        for cls, v in sorted(lat.items()):
            lines.append(f"latency {cls}: p50 {1000 * percentile(v, 50):.2f} ms, "
                         f"p99 {1000 * percentile(v, 99):.2f} ms, "
                         f"max {1000 * (v[-1] if v else 0):.1f} ms")
        lines.append(f"control plane: {self.control_ok['deploy']} deploys, "
                     f"{self.control_ok['rollback']} rollbacks ok, "
                     f"{len(self.control_failures)} failed")
        lines.append(f"RSS: start {rss_start / 1024 if rss_start else 0:.1f} MiB, after warm-up "
                     f"{(rss_warm or 0) / 1024:.1f} MiB, end {(rss_end or 0) / 1024:.1f} MiB, "
                     f"peak {rss_peak / 1024:.1f} MiB, drift "
                     f"{'n/a' if drift is None else f'{drift:+.2f}%'} (limit {a.max_rss_drift}%)")
        if len(self.quiesced) > 2:
            lines.append("quiesced RSS: " + ", ".join(f"{t / 60:.1f} min {kib / 1024:.1f} MiB"
                                                      for t, kib in self.quiesced))
        unloaded_drift = None
        if len(self.unloaded) > 1:
            first, last = self.unloaded[0][1], self.unloaded[-1][1]
            if first and last:
                unloaded_drift = 100.0 * (last - first) / first
            lines.append("unloaded RSS (every activation unloaded by the idle timeout): " +
                         ", ".join(f"{t / 60:.1f} min " +
                                   ("n/a" if kib is None else f"{kib / 1024:.1f} MiB")
                                   for t, kib in self.unloaded) + "; drift " +
                         ("n/a (activations were not all unloaded)" if unloaded_drift is None
                          else f"{unloaded_drift:+.2f}%") +
                         f" (limit {a.max_unloaded_drift}%)")
        if self.host_metrics:
            ends = [("after warm-up", self.host_metrics[0])]
            if len(self.host_metrics) > 1:
                ends.append(("end", self.host_metrics[-1]))
            for label, m in ends:
                lines.append(f"host {label}: " + ", ".join(f"{k} {v}" for k, v in sorted(m.items())))
        lines.append(f"unexpected outcomes: {unexpected}, connection errors: {self.conn_errors}, "
                     f"server exit: {exit_code}")
        for s in self.unexpected_samples:
            lines.append(f"  unexpected: {s}")
        for s in self.control_failures[:10]:
            lines.append(f"  control failure: {s}")
        failures = []
        if self.crashed:
            failures.append(self.crashed)
        if unexpected:
            failures.append(f"{unexpected} unexpected outcomes "
                            f"(by family: {dict(self.by_family_unexpected.most_common(5))})")
        if self.conn_errors:
            failures.append(f"{self.conn_errors} connection errors")
        if self.control_failures:
            failures.append(f"{len(self.control_failures)} failed deploys/rollbacks")
        if drift is None or drift >= a.max_rss_drift:
            failures.append(f"RSS drift {drift if drift is None else round(drift, 2)}% "
                            f">= {a.max_rss_drift}%")
        if a.idle_timeout > 0 and self.crashed is None:
            if unloaded_drift is None:
                failures.append("unloaded RSS: activations were still live 30 s after the idle "
                                "timeout (see the unloaded samples above)")
            elif unloaded_drift >= a.max_unloaded_drift:
                failures.append(f"unloaded RSS drift {round(unloaded_drift, 2)}% "
                                f">= {a.max_unloaded_drift}%")
        if total == 0:
            failures.append("no requests were answered")
        lines.append("soak: FAIL: " + "; ".join(failures) if failures else "soak: PASS")
        text = "\n".join(lines)
        print(text, flush=True)
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"elapsed_s": elapsed, "requests": total, "unexpected": unexpected,
                           "connection_errors": self.conn_errors,
                           "outcomes": {f"{c}:{s}": n for (c, s), n in self.outcomes.items()},
                           "p99_ms": {c: 1000 * percentile(v, 99) for c, v in lat.items()},
                           "rss_kib": {"start": rss_start, "warm": rss_warm, "end": rss_end,
                                       "peak": rss_peak},
                           "rss_samples": rss_samples, "host_metrics": self.host_metrics,
                           "rss_quiesced": self.quiesced, "rss_drift_pct": drift,
                           "rss_unloaded": self.unloaded,
                           "rss_unloaded_drift_pct": unloaded_drift,
                           "unloaded_metrics": self.unloaded_metrics,
                           "deploys": self.control_ok["deploy"],
                           "rollbacks": self.control_ok["rollback"],
                           "pass": not failures}, f, indent=1)
        if failures and os.path.exists(self.server_log.name):
            self.server_log.seek(0)
            tail = self.server_log.read()[-2000:]
            if tail:
                print("--- cosmo-server stderr (tail) ---\n" + tail, flush=True)
        return 0 if not failures else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--server-bin", required=True)
    p.add_argument("--ctl-bin", required=True)
    p.add_argument("--duration", type=parse_duration, default=60.0)
    p.add_argument("--warmup", type=parse_duration, default=30.0,
                   help="traffic before the reference RSS (capped to leave the last minute, or half "
                        "of a run shorter than two minutes)")
    p.add_argument("--quiesce-every", type=parse_duration, default=0.0,
                   help="also take a quiesced RSS sample this often after the warm-up, to show "
                        "how RSS evolves (0: only after the warm-up and at the end)")
    p.add_argument("--settle", type=parse_duration, default=2.0,
                   help="pause of traffic before each RSS reference sample")
    p.add_argument("--idle-timeout", type=parse_duration, default=0.0,
                   help="the server's --idle-timeout; when set, each quiesced sample also waits "
                        "until every activation is unloaded and samples RSS again (0: the "
                        "server's default, and no unloaded samples)")
    p.add_argument("--families", type=int, default=100)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--hostile-fraction", type=float, default=0.03)
    p.add_argument("--deploy-interval", type=parse_duration, default=1.0)
    p.add_argument("--max-rss-drift", type=float, default=15.0,
                   help="percent, of the quiesced RSS with the isolates live: a runaway check, "
                        "since the budget moves the live isolates' number by several between "
                        "samples (±9%% seen in healthy runs)")
    p.add_argument("--max-unloaded-drift", type=float, default=10.0,
                   help="percent, of the unloaded RSS (with --idle-timeout): the leak gate "
                        "(±4%% seen in healthy runs: LevelDB's memtable, worker stacks)")
    p.add_argument("--max-cpu-ms", type=int, default=50)
    p.add_argument("--max-memory-mb", type=int, default=64)
    p.add_argument("--max-wall-ms", type=int, default=2000)
    p.add_argument("--memory-budget-mb", type=int, default=256,
                   help="the server's isolate memory budget: RSS plateaus once it is reached")
    p.add_argument("--malloc-arena-max", type=int, default=2,
                   help="MALLOC_ARENA_MAX for the server, as docs/performance.md recommends for "
                        "production (0: glibc's default of 8 arenas per core)")
    p.add_argument("--malloc-tcache-count", type=int, default=0,
                   help="glibc's per-thread cache (GLIBC_TUNABLES glibc.malloc.tcache_count) for "
                        "the server: 0 turns it off, so RSS drift shows the server's memory, not "
                        "64 workers' caches filling for 15 minutes (docs/performance.md, Soak); "
                        "-1: glibc's default")
    p.add_argument("--json", help="also write the report as JSON to this file")
    args = p.parse_args()
    if 0 < args.idle_timeout <= args.settle + 1:
        p.error("--idle-timeout must exceed --settle by more than a second, or activations "
                "unload while the quiesced RSS is being sampled")
    if args.families < len(HOSTILE) + 2:
        p.error(f"--families must be at least {len(HOSTILE) + 2}")
    soak = Soak(args)

    def on_signal(signum, _frame):
        soak.kill_all()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        return soak.run()
    except Exception as e:  # noqa: BLE001 - reported, then the processes are killed
        print(f"soak: FAIL: {e}", flush=True)
        return 1
    finally:
        soak.kill_all()


if __name__ == "__main__":
    sys.exit(main())
