// The Web Crypto operations benchmarks/webcrypto/compare times, written once for both runtimes:
// CosmoCompute's engine (run_in_engine.cc) and Node 18's webcrypto (node_runner.mjs). Each
// operation is awaited in turn, as a handler would; the figure is the best of `rounds` runs of
// at least `minMs` each, in microseconds per operation.

export async function runAll(subtle, now, {rounds = 3, minMs = 200} = {}) {
  const bytes = (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; ++i) out[i] = (i * 31 + 7) & 0xff;
    return out;
  };
  const kib = bytes(1024), mib = bytes(1 << 20), k64 = bytes(64 << 10), msg = bytes(256);
  const hmacKey = await subtle.importKey('raw', bytes(32), {name: 'HMAC', hash: 'SHA-256'}, false,
                                         ['sign']);
  const ecdsa = await subtle.generateKey({name: 'ECDSA', namedCurve: 'P-256'}, false,
                                         ['sign', 'verify']);
  const ecdsaAlg = {name: 'ECDSA', hash: 'SHA-256'};
  const ecdsaSig = await subtle.sign(ecdsaAlg, ecdsa.privateKey, msg);
  const ed = await subtle.generateKey({name: 'Ed25519'}, false, ['sign', 'verify']);
  const edSig = await subtle.sign({name: 'Ed25519'}, ed.privateKey, msg);
  const aesKey = await subtle.importKey('raw', bytes(16), {name: 'AES-GCM'}, false, ['encrypt']);
  const iv = bytes(12);

  const ops = {
    'HMAC-SHA256 sign 1 KiB': () => subtle.sign('HMAC', hmacKey, kib),
    'SHA-256 digest 1 MiB': () => subtle.digest('SHA-256', mib),
    'ECDSA P-256 verify': () => subtle.verify(ecdsaAlg, ecdsa.publicKey, ecdsaSig, msg),
    'Ed25519 verify': () => subtle.verify({name: 'Ed25519'}, ed.publicKey, edSig, msg),
    'AES-GCM encrypt 64 KiB': () => subtle.encrypt({name: 'AES-GCM', iv}, aesKey, k64),
  };
  const results = {};
  for (const [name, op] of Object.entries(ops)) {
    if (name.includes('verify') && !(await op())) throw new Error(`${name}: did not verify`);
    for (let i = 0; i < 20; ++i) await op();  // warm up
    let best = Infinity;
    for (let round = 0; round < rounds; ++round) {
      let n = 0;
      const start = now();
      let elapsed = 0;
      while (elapsed < minMs) {
        for (let i = 0; i < 10; ++i) await op();
        n += 10;
        elapsed = now() - start;
      }
      best = Math.min(best, (elapsed * 1000) / n);
    }
    results[name] = best;
  }
  return results;
}
