#!/usr/bin/env python3
"""Checks that each dependency's headers are included only in the folder that owns it.

docs/contributing.md, "Layering": V8 only under lib/engine/v8 (and the Liquid engine that rides on
it), LevelDB only under lib/store/leveldb, etcd/gRPC client code only under lib/store/etcd and
lib/control, httplib only in the HTTP layer, and no dependency's type in a public header. Tests, benchmarks and hosts
may use what they drive. Exits non-zero listing every violation.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()

# dependency -> (include pattern, folders of lib/ allowed to include it)
RULES = {
    "V8": (r'^#include [<"](v8[-.]|v8\.h|libplatform/)', ["lib/engine/v8", "lib/engine/liquid"]),
    "LevelDB": (r'^#include [<"]leveldb/', ["lib/store/leveldb"]),
    "gRPC": (r'^#include [<"]grpc', ["lib/store/etcd", "lib/control"]),
    "cpp-httplib": (r'^#include [<"]httplib\.h', ["lib/http"]),
    "libcbor": (r'^#include [<"]cbor', ["lib/manifest"]),
    "libcurl": (r'^#include [<"]curl/', ["lib/engine/v8/fetch"]),
}
# Public headers may include only the standard library, Abseil and each other.
PUBLIC_ALLOWED = re.compile(r'^#include [<"](absl/|cosmo/|[a-z_]+>|[a-z_]+\.h>)')

violations = []
for path in sorted((ROOT / "lib").rglob("*")):
    if path.suffix not in (".h", ".cc"):
        continue
    rel = path.relative_to(ROOT).as_posix()
    for lineno, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        for dep, (pattern, allowed) in RULES.items():
            if re.match(pattern, line) and not any(rel.startswith(a + "/") for a in allowed):
                violations.append(f"{rel}:{lineno}: {dep} included outside {', '.join(allowed)}")

for path in sorted((ROOT / "include").rglob("*.h")):
    rel = path.relative_to(ROOT).as_posix()
    for lineno, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        if line.startswith("#include") and not PUBLIC_ALLOWED.match(line):
            violations.append(f"{rel}:{lineno}: public header includes a dependency: {line}")

for v in violations:
    print(v)
print(f"layering: {len(violations)} violation(s)")
sys.exit(1 if violations else 0)
