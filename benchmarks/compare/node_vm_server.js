// Node's `http` server with a Workers module's handler run in a node:vm context: the Node
// baseline of benchmarks/compare/run. Each request becomes a WHATWG Request (Node 18's undici),
// the handler's Response is read back and written out, so the work matches a Workers runtime.
//
//   node node_vm_server.js MODULE.js PORT     (prints "listening on 127.0.0.1:PORT")
"use strict";
const fs = require("node:fs");
const http = require("node:http");
const vm = require("node:vm");

const [file, portText] = process.argv.slice(2);
if (!file || !portText) {
  console.error("usage: node node_vm_server.js MODULE.js PORT");
  process.exit(2);
}
// A Script cannot hold `export`; the default export becomes a property of the context instead
// (vm.SourceTextModule still needs --experimental-vm-modules on Node 18).
const source = fs.readFileSync(file, "utf8").replace(/export\s+default/, "globalThis.__worker =");
const context = vm.createContext({
  Request, Response, Headers, URL, URLSearchParams, TextEncoder, TextDecoder, atob, btoa,
  console, structuredClone, queueMicrotask, setTimeout, clearTimeout,
});
vm.runInContext(source, context, { filename: file });
const worker = context.__worker;
if (!worker || typeof worker.fetch !== "function") {
  console.error(`${file}: no default export with a fetch() handler`);
  process.exit(1);
}
const env = {};
const ctx = { waitUntil() {}, passThroughOnException() {} };

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

const server = http.createServer(async (req, res) => {
  try {
    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    const request = new Request(`http://${req.headers.host || "localhost"}${req.url}`, {
      method: req.method,
      headers: req.headers,
      body: hasBody ? await readBody(req) : undefined,
    });
    let response = await worker.fetch(request, env, ctx);
    if (typeof response === "string") response = new Response(response);
    const body = Buffer.from(await response.arrayBuffer());
    const headers = {};
    response.headers.forEach((v, k) => { headers[k] = v; });
    headers["content-length"] = body.length;
    res.writeHead(response.status, headers);
    res.end(body);
  } catch (e) {
    res.writeHead(500, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: "script_error", message: String(e) }));
  }
});
server.keepAliveTimeout = 60000;
server.listen(Number(portText), "127.0.0.1", 4096, () => {
  console.log(`listening on 127.0.0.1:${server.address().port}`);
});
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => server.close(() => process.exit(0)));
