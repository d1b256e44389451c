// Verifies JSON Web Tokens (RFC 7519) from the Authorization header with crypto.subtle: HS256
// (HMAC with SHA-256) and ES256 (ECDSA on P-256 with SHA-256). Deployed to family `jwt-auth`:
//   GET /jwt-auth/     what the example expects (no token needed)
//   GET /jwt-auth/me   with `Authorization: Bearer <jwt>`: the verified claims, or 401
// Keys come from the family's env: JWT_HS256_SECRET (the shared secret, as text) and
// JWT_ES256_PUBLIC_JWK (the public key as a JWK, JSON). An algorithm without a key is refused.
const encoder = new TextEncoder();

function base64urlDecode(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error("bad base64url");
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function parseJson(bytes) {
  const value = JSON.parse(new TextDecoder().decode(bytes));
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error("not a JSON object");
  }
  return value;
}

// Imported keys are kept per isolate: importing costs more than verifying.
const keys = new Map();
async function keyFor(alg, env) {
  const source = alg === "HS256" ? env.JWT_HS256_SECRET : env.JWT_ES256_PUBLIC_JWK;
  if (!source) return null;
  const cacheKey = `${alg}:${source}`;
  if (!keys.has(cacheKey)) {
    keys.set(cacheKey, alg === "HS256"
      ? crypto.subtle.importKey("raw", encoder.encode(source), { name: "HMAC", hash: "SHA-256" },
                                false, ["verify"])
      : crypto.subtle.importKey("jwk", JSON.parse(source), { name: "ECDSA", namedCurve: "P-256" },
                                false, ["verify"]));
  }
  return keys.get(cacheKey);
}

// The token's claims when its signature and times check out; throws with the reason otherwise.
async function verify(token, env) {
  const parts = token.split(".");
  if (parts.length !== 3) throw new Error("a JWT has three parts");
  const header = parseJson(base64urlDecode(parts[0]));
  const claims = parseJson(base64urlDecode(parts[1]));
  const signature = base64urlDecode(parts[2]);
  // The algorithm must be one we hold a key for; "none" and the rest are refused.
  if (header.alg !== "HS256" && header.alg !== "ES256") {
    throw new Error(`algorithm ${JSON.stringify(header.alg)} is not accepted`);
  }
  const key = await keyFor(header.alg, env);
  if (key === null) throw new Error(`no key is configured for ${header.alg}`);
  const signed = encoder.encode(`${parts[0]}.${parts[1]}`);
  const ok = header.alg === "HS256"
    ? await crypto.subtle.verify("HMAC", key, signature, signed)
    : await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, signature, signed);
  if (!ok) throw new Error("bad signature");
  const now = Math.floor(Date.now() / 1000);
  if (typeof claims.exp === "number" && now >= claims.exp) throw new Error("token expired");
  if (typeof claims.nbf === "number" && now < claims.nbf) throw new Error("token not yet valid");
  return { alg: header.alg, claims };
}

export default {
  async fetch(request, env) {
    const path = new URL(request.url).pathname.replace(/^\/jwt-auth/, "") || "/";
    if (path === "/") {
      return Response.json({
        usage: "GET /jwt-auth/me with Authorization: Bearer <HS256 or ES256 JWT>",
        hs256: Boolean(env.JWT_HS256_SECRET),
        es256: Boolean(env.JWT_ES256_PUBLIC_JWK),
      });
    }
    if (path !== "/me") return Response.json({ error: "no such route" }, { status: 404 });
    const match = /^Bearer\s+(\S+)$/i.exec(request.headers.get("Authorization") ?? "");
    const challenge = { "WWW-Authenticate": 'Bearer realm="jwt-auth"' };
    if (!match) {
      return Response.json({ error: "missing bearer token" }, { status: 401, headers: challenge });
    }
    try {
      return Response.json(await verify(match[1], env));
    } catch (e) {
      return Response.json({ error: e.message }, { status: 401, headers: challenge });
    }
  },
};
