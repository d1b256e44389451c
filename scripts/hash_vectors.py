#!/usr/bin/python3
"""Writes tests/testdata/manifest/hash_vectors.json: manifests with their canonical CBOR and version.

An implementation independent of ours — Debian's python3-cbor2 with canonical=True (RFC 8949
§4.2.1 core deterministic encoding: definite lengths, shortest integers, map keys sorted by their
encoded bytes) and hashlib's SHA-256 — produces the expected bytes and hashes that
tests/unit/manifest/manifest_test.cc checks libcosmo against. Re-run after changing the cases:

    /usr/bin/python3 scripts/hash_vectors.py > tests/testdata/manifest/hash_vectors.json
"""
import hashlib
import importlib.metadata
import json
import sys

import cbor2

HELLO = ('export default {\n  async fetch(request, env, ctx) {\n'
         '    return new Response("hello");\n  }\n};\n')

CASES = [
    ("minimal", {"engine": "javascript", "main": "index.js", "files": {"index.js": HELLO},
                 "env": {}, "limits": {}}),
    ("empty_source", {"engine": "javascript", "main": "a.js", "files": {"a.js": ""},
                      "env": {}, "limits": {}}),
    ("liquid", {"engine": "liquid", "main": "page.liquid",
                "files": {"page.liquid": "<h1>{{ request.path | escape }}</h1>\n"},
                "env": {"TITLE": "Shop"}, "limits": {}}),
    # Keys of different lengths: canonical order is shortest first, so "z" precedes "aa".
    ("key_order", {"engine": "javascript", "main": "index.js",
                   "files": {"index.js": HELLO, "z.js": "export const z = 1;\n",
                             "aa.js": "export const a = 2;\n", "lib/b.js": "export {};\n"},
                   "env": {"Z": "1", "AA": "2", "B_LONGER_NAME": "3", "a": "4"},
                   "limits": {"cpu_ms": 20, "wall_ms": 1000, "memory_mb": 64,
                              "subrequests": 5}}),
    # Integers at every head width: 23 (in the head), 24, 255 (1 byte), 256, 65535 (2 bytes),
    # 65536 (4 bytes), 2^32 (8 bytes).
    ("integer_widths", {"engine": "javascript", "main": "i.js", "files": {"i.js": "x"},
                        "env": {},
                        "limits": {"a": 23, "b": 24, "c": 255, "d": 256, "e": 65535,
                                   "f": 65536, "g": 4294967295, "h": 4294967296,
                                   "i": 18446744073709551615}}),
    ("unicode", {"engine": "javascript", "main": "índex.js",
                 "files": {"índex.js": "// ☃ 雪 \U0001F600\nexport default {fetch(){return 'ü'}};\n"},
                 "env": {"GREETING": "grüße, 世界 \U0001F30D"}, "limits": {}}),
    # String heads of each width: 23, 24, 255, 256 and 70,000 bytes.
    ("string_widths", {"engine": "javascript", "main": "m.js",
                       "files": {"m.js": "a" * 23, "n.js": "b" * 24, "o.js": "c" * 255,
                                 "p.js": "d" * 256, "q.js": "e" * 70000},
                       "env": {"K" * 30: "v" * 300}, "limits": {}}),
    # KV bindings: the "kv" map is present only when not empty; its two-byte key sorts first.
    ("kv_bindings", {"engine": "javascript", "main": "index.js", "files": {"index.js": HELLO},
                     "env": {"GREETING": "hi"}, "limits": {},
                     "kv": {"COUNTS": "counts", "SESSIONS": "shop-sessions", "A": "a"}}),
    # Crons join the map only when not empty, as a list in the deploy's order; "crons" sorts
    # between "main" and "files" (same length as "files", smaller bytes).
    ("crons", {"engine": "javascript", "main": "index.js", "files": {"index.js": HELLO},
               "env": {}, "limits": {}, "crons": ["*/5 * * * *", "0 0 L * *", "0 9 * * MON#2"]}),
]


def main():
    vectors = []
    for name, manifest in CASES:
        encoded = cbor2.dumps(manifest, canonical=True)
        vector = {"name": name, "manifest": manifest}
        # Large vectors keep only the hash; their bytes are checked through it.
        if len(encoded) <= 4096:
            vector["cbor_hex"] = encoded.hex()
        vector["version"] = hashlib.sha256(encoded).hexdigest()
        vectors.append(vector)
    json.dump({"generator": "scripts/hash_vectors.py (python3-cbor2 %s, canonical=True)"
               % importlib.metadata.version("cbor2"), "vectors": vectors},
              sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
