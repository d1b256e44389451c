#!/usr/bin/env python3
"""The dashboard in a real headless Chromium (Selenium + Debian's chromedriver) against a real
cosmo-server with a tokens file (docs/dashboard.md).

Signs in with a token, sees only that tenant's families, opens one, checks that the requests chart
holds exactly the traffic sent, rolls back from the page (and `cosmoctl get` agrees), and sees a
console.log line from a new request in the live log within 2 s. Then a family split 90/10 with a KV
binding: the table and the family page show the split, and the key browser shows a key a request
wrote. Last, a cosmo-gateway's read-only dashboard shows the tenant's families from the server.
Screenshots go to OUT_DIR.

    dashboard_browser_test.py BUILD_DIR OUT_DIR
    dashboard_browser_test.py BUILD_DIR OUT_DIR --families=10000   # page weight, first render
    dashboard_browser_test.py BUILD_DIR OUT_DIR --families=10000 --seeded=DIR   # DIR seeded before

Exits 77 (ctest's SKIP_RETURN_CODE) when Chromium, chromedriver or Selenium is missing.
"""
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

SKIP = 77

try:
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    print("SKIP: python3-selenium is not installed (apt-get install python3-selenium)")
    sys.exit(SKIP)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
if not CHROMIUM or not os.path.exists(CHROMEDRIVER):
    print("SKIP: chromium or chromedriver is missing (apt-get install chromium chromium-driver)")
    sys.exit(SKIP)

V1 = 'export default { fetch(req) { console.log("v1 " + new URL(req.url).pathname); return new Response("one"); } };\n'
V2 = 'export default { fetch(req) { console.log("v2 " + new URL(req.url).pathname); return new Response("two"); } };\n'
# Writes a KV key named after the request's path; two versions to split between.
CART = ('export default {{ async fetch(req, env) {{ const key = new URL(req.url).pathname.slice(1);'
        ' await env.NOTES.put(key, "note for " + key); return new Response("{}"); }} }};\n')


class Process:
    """A cosmo-server or cosmo-gateway started with `args`, ready once it printed where its HTTP
    data plane listens (self.http) and, for a server, its gRPC address (self.grpc). Stopped with
    SIGTERM."""

    def __init__(self, args):
        name = os.path.basename(args[0])
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        self.grpc = self.http = None
        deadline = time.time() + 30
        while time.time() < deadline and self.http is None:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"{name} exited before it was ready")
            m = re.search(r"control plane \(gRPC\) listening on (\S+)", line)
            if m:
                self.grpc = m.group(1)
            m = re.search(r"data plane \(HTTP\) listening on (\S+)", line)
            if m:
                self.http = m.group(1)
        if self.http is None:
            raise RuntimeError(f"{name} did not start within 30 s")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)


def start_server(build, data_dir, tokens_file=None):
    """cosmo-server on free loopback ports."""
    args = [os.path.join(build, "hosts/grpc_server/cosmo-server"), "--data-dir=" + data_dir,
            "--grpc-listen=127.0.0.1:0", "--http-listen=127.0.0.1:0", "--idle-timeout=600s"]
    if tokens_file:
        args.append("--auth-tokens-file=" + tokens_file)
    return Process(args)


def start_gateway(build, grpc, token):
    """cosmo-gateway on a free loopback port, fed by the server at `grpc`."""
    return Process([os.path.join(build, "hosts/http_gateway/cosmo-gateway"), "--control=" + grpc,
                    "--http-listen=127.0.0.1:0", "--token=" + token])


def cosmoctl(build, server, token, *args):
    cmd = [os.path.join(build, "hosts/cosmoctl/cosmoctl"), "--server=" + server]
    if token:
        cmd.append("--token=" + token)
    out = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"cosmoctl {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout


def get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,1000", "--no-first-run", "--disable-extensions",
                "--disable-background-networking"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def check(condition, message):
    if not condition:
        raise AssertionError(message)
    print("ok:", message)


def sign_in(driver, wait, token):
    token_input = wait.until(EC.presence_of_element_located((By.ID, "token")))
    token_input.send_keys(token)
    driver.find_element(By.ID, "login-submit").click()
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#families tbody tr")))


def functional(build, out_dir, work):
    acme, beta = "cosmo_" + secrets.token_hex(16), "cosmo_" + secrets.token_hex(16)
    gateway_token = "cosmo_" + secrets.token_hex(16)
    tokens = os.path.join(work, "tokens")
    with open(tokens, "w") as f:
        for tenant, token in (("acme", acme), ("beta", beta), ("gateway", gateway_token)):
            f.write(f"{tenant} {hashlib.sha256(token.encode()).hexdigest()}\n")
    for name, source in (("v1.js", V1), ("v2.js", V2), ("cart1.js", CART.format("cart one")),
                         ("cart2.js", CART.format("cart two"))):
        with open(os.path.join(work, name), "w") as f:
            f.write(source)
    server = start_server(build, os.path.join(work, "data"), tokens)
    driver = gateway = None
    try:
        cosmoctl(build, server.grpc, acme, "deploy", "shop", os.path.join(work, "v1.js"))
        cosmoctl(build, server.grpc, acme, "deploy", "shop", os.path.join(work, "v2.js"))
        cosmoctl(build, server.grpc, beta, "deploy", "blog", os.path.join(work, "v1.js"))
        v1 = json.loads(cosmoctl(build, server.grpc, acme, "--json", "history", "shop"))
        versions = [e["version"] for e in (v1["entries"] if isinstance(v1, dict) else v1)]
        first, second = versions[-1], versions[0]
        sent = 12
        for i in range(sent):
            check_body = get(f"http://{server.http}/shop/traffic-{i}")
            assert check_body == "two", check_body

        driver = browser()
        # The page re-renders what it shows; an element found just before may be gone.
        wait = WebDriverWait(driver, 15, ignored_exceptions=[StaleElementReferenceException])
        driver.get(f"http://{server.http}/_cosmo/ui")
        sign_in(driver, wait, acme)
        check(True, "the page asked for a token")
        names = [r.get_attribute("data-family")
                 for r in driver.find_elements(By.CSS_SELECTOR, "#families tbody tr")]
        check(names == ["shop"], f"tenant acme sees only its family: {names}")
        check("acme" in driver.find_element(By.ID, "tenant").text, "the header names the tenant")

        driver.find_element(By.LINK_TEXT, "shop").click()
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#charts[data-loaded]")))
        chart = driver.execute_script(
            "const c = window.cosmoDashboard.charts.requests;"
            "return {versions: c.versions, totals: c.totals, points: c.data[0].length,"
            "        canvas: !!document.querySelector('#chart-requests canvas')};")
        by_version = dict(zip(chart["versions"], chart["totals"]))
        check(chart["canvas"] and chart["points"] >= 60, f"the requests chart is drawn ({chart['points']} points)")
        check(by_version.get(second) == sent and sum(by_version.values()) == sent,
              f"the requests chart holds the {sent} requests sent, all on the active version: {by_version}")

        # Live log: a request now shows its console.log line in the page within 2 s.
        marker = "live-" + secrets.token_hex(4)
        time.sleep(0.3)  # the log long poll is waiting
        started = time.time()
        get(f"http://{server.http}/shop/{marker}")
        WebDriverWait(driver, 2, poll_frequency=0.05,
                      ignored_exceptions=[StaleElementReferenceException]).until(
            lambda d: marker in d.find_element(By.ID, "logs").text)
        check(True, f"the console.log line reached the live log in {1000 * (time.time() - started):.0f} ms")

        button = driver.find_element(By.CSS_SELECTOR, f"button.rollback[data-version='{first}']")
        button.click()
        alert = wait.until(EC.alert_is_present())
        check(first[:12] in alert.text, f"rollback asks to confirm: {alert.text!r}")
        alert.accept()
        wait.until(lambda d: d.find_element(By.ID, "active-version").text == first[:12])
        check(True, "the page shows the rolled-back version as active")
        got = json.loads(cosmoctl(build, server.grpc, acme, "--json", "get", "shop"))
        check(got["active_version"] == first, "cosmoctl get agrees")
        check(get(f"http://{server.http}/shop/") == "one", "the data plane serves the old version")
        driver.save_screenshot(os.path.join(out_dir, "dashboard-family.png"))

        # A split 90/10 and a KV key a request wrote, from real state.
        notes = ["--kv", "NOTES=acme-notes"]
        cosmoctl(build, server.grpc, acme, "deploy", "cart", os.path.join(work, "cart1.js"), *notes)
        cosmoctl(build, server.grpc, acme, "deploy", "cart", os.path.join(work, "cart2.js"), *notes,
                 "--percent=10")
        cart = json.loads(cosmoctl(build, server.grpc, acme, "--json", "get", "cart"))["split"]
        base, canary = cart["base_version"][:12], cart["canary_version"][:12]
        key = "cart/kv-" + secrets.token_hex(4)
        check(get(f"http://{server.http}/{key}") in ("cart one", "cart two"), "cart answers")
        driver.get(f"http://{server.http}/_cosmo/ui#/")
        row = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "tr[data-family='cart'] td.version")))
        check(row.text == f"{base} 90% / {canary} 10%", f"the families table shows the split: {row.text!r}")
        driver.save_screenshot(os.path.join(out_dir, "dashboard-families.png"))
        driver.find_element(By.LINK_TEXT, "cart").click()
        split = wait.until(EC.presence_of_element_located((By.ID, "split"))).text
        check(base in split and "90%" in split and canary in split and "10%" in split,
              f"the family page shows the split: {split!r}")
        link = wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, f"a.kv-key[data-key='{key}']")))
        check(True, f"the key browser lists {key}, written by a request")
        link.click()
        wait.until(lambda d: f"note for {key}" in d.find_element(By.ID, "kv-value").text)
        check(True, "the key browser shows its value")
        driver.execute_script("document.getElementById('split').scrollIntoView()")
        driver.save_screenshot(os.path.join(out_dir, "dashboard-split-kv.png"))

        # A gateway's dashboard: the server's families, read-only.
        gateway = start_gateway(build, server.grpc, gateway_token)
        driver.get(f"http://{gateway.http}/_cosmo/ui")
        sign_in(driver, wait, acme)
        names = sorted(r.get_attribute("data-family")
                       for r in driver.find_elements(By.CSS_SELECTOR, "#families tbody tr"))
        check(names == ["cart", "shop"], f"the gateway's page lists the server's families: {names}")
        check("read-only" in driver.find_element(By.ID, "tenant").text, "and says it is read-only")
        driver.find_element(By.LINK_TEXT, "shop").click()
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#history tbody tr")))
        check(not driver.find_elements(By.CSS_SELECTOR, "button.rollback"),
              "the gateway's family page has no rollback buttons")
        driver.save_screenshot(os.path.join(out_dir, "dashboard-gateway.png"))
    finally:
        if driver:
            driver.quit()
        if gateway:
            gateway.stop()
        server.stop()


def first_render(build, out_dir, work, families, seeded):
    """Seeds `families` families (unless `seeded` holds them), opens the families page, prints
    page weight and first render."""
    data = seeded or os.path.join(work, "data")
    if not seeded:
        subprocess.run([os.path.join(build, "benchmarks/seed_families"), data, str(families)],
                       check=True, timeout=1800)
    server = start_server(build, data)
    driver = browser()
    try:
        results = []
        for attempt in range(3):
            driver.get(f"http://{server.http}/_cosmo/ui?run={attempt}")
            WebDriverWait(driver, 30).until(
                lambda d: d.execute_script("return performance.getEntriesByName('families-rendered').length"))
            results.append(driver.execute_script(
                "const nav = performance.getEntriesByType('navigation')[0];"
                "const mark = performance.getEntriesByName('families-rendered')[0];"
                "const resources = performance.getEntriesByType('resource');"
                "const ui = resources.filter(r => r.name.includes('/_cosmo/ui'));"
                "const api = resources.filter(r => r.name.includes('/_cosmo/api/families'));"
                "return {render_ms: mark.startTime, dom_content_loaded_ms: nav.domContentLoadedEventEnd,"
                " ui_bytes: nav.decodedBodySize + ui.reduce((a, r) => a + r.decodedBodySize, 0),"
                " ui_encoded_bytes: nav.encodedBodySize + ui.reduce((a, r) => a + r.encodedBodySize, 0),"
                " families_api_ms: api.length ? api[0].duration : null,"
                " families_api_bytes: api.length ? api[0].decodedBodySize : null,"
                " total: document.getElementById('pager').textContent};"))
        driver.save_screenshot(os.path.join(out_dir, f"dashboard-{families}-families.png"))
        for r in results:
            print(json.dumps(r))
        best = min(results, key=lambda r: r["render_ms"])
        # Later loads take the page's files from the browser's cache: the first one's are the weight.
        print(f"families={families} first_render_ms={best['render_ms']:.0f} "
              f"ui_bytes={results[0]['ui_bytes']} ui_encoded_bytes={results[0]['ui_encoded_bytes']} "
              f"families_api_ms={best['families_api_ms']:.0f}")
    finally:
        driver.quit()
        server.stop()


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    build, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    families = 0
    seeded = None
    for arg in sys.argv[3:]:
        if arg.startswith("--families="):
            families = int(arg.split("=", 1)[1])
        elif arg.startswith("--seeded="):
            seeded = arg.split("=", 1)[1]
    with tempfile.TemporaryDirectory(prefix="cosmo-dashboard-") as work:
        if families:
            first_render(build, out_dir, work, families, seeded)
        else:
            functional(build, out_dir, work)
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
