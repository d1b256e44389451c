// The host's natives, captured once and removed from the global object so scripts never see them.
//
// The V8 engine installs `globalThis.__cosmo_native` before this runtime is evaluated into the
// startup snapshot. Every module of the runtime reaches the natives through this module only.

const native = globalThis.__cosmo_native;
if (native === undefined) {
  throw new Error('cosmo runtime: __cosmo_native is missing');
}
delete globalThis.__cosmo_native;

// log(level, text): 0 debug, 1 info, 2 log, 3 warn, 4 error.
export const nativeLog = native.log;
// randomFill(u8): fills a Uint8Array with cryptographically strong random bytes.
export const nativeRandomFill = native.randomFill;
// transferArrayBuffer(buffer) -> new ArrayBuffer with buffer's memory; buffer is detached.
export const nativeTransferArrayBuffer = native.transferArrayBuffer;
// utf8Encode(str) -> Uint8Array; lone surrogates become U+FFFD.
export const nativeUtf8Encode = native.utf8Encode;
// utf8EncodeInto(str, u8) -> [read, written].
export const nativeUtf8EncodeInto = native.utf8EncodeInto;
// utf8Decode(u8, fatal, ignoreBOM) -> string; throws TypeError when fatal and the input is invalid.
export const nativeUtf8Decode = native.utf8Decode;
// serialize(value) -> ArrayBuffer and deserialize(ArrayBuffer) -> value (V8 ValueSerializer).
// serialize(value, writeHost) -> ArrayBuffer writes a host object (see HostObject) as
// writeHost(object); deserialize(buffer) -> [value, placeholder, written, ...] brings each back as
// a placeholder, with what writeHost returned for it, for the runtime to take over.
export const nativeSerialize = native.serialize;
export const nativeDeserialize = native.deserialize;
// HostObject: a constructor whose instances V8's serializer treats as host objects (they have an
// internal field); the base of the runtime classes structuredClone copies. A derived class's
// super(placeholder) takes over a placeholder of deserialize()'s.
export const NativeHostObject = native.HostObject;
// setTimer(callback, delayMs, repeat) -> id and clearTimer(id): the running request's timers.
export const nativeSetTimer = native.setTimer;
export const nativeClearTimer = native.clearTimer;
// fetch(method, url, flatHeaders, body) -> Promise of [status, statusText, flatHeaders, Uint8Array]:
// one HTTP exchange, no redirects; rejects with a TypeError (refused destination, network error,
// timeout, size limit). Throws when it cannot start (subrequest limit, outside a request).
export const nativeFetch = native.fetch;
// waitUntil(promise): ctx.waitUntil of the running request.
export const nativeWaitUntil = native.waitUntil;
// respond(status, body, name0, value0, ...) or respond(status, body, flatHeaders): invokeFast's
// synchronous response, handed to the host (it ignores a second call and calls outside
// invokeFast).
export const nativeRespond = native.respond;
// defineLazy(name, loader, enumerable): a global that behaves as a writable, configurable data
// property but whose value loader() makes the first time it is read.
export const nativeDefineLazy = native.defineLazy;
// monotonicNow() -> milliseconds since the engine's time origin (monotonic, 100 µs steps);
// timeOrigin() -> that origin as milliseconds since the Unix epoch.
export const nativeMonotonicNow = native.monotonicNow;
export const nativeTimeOrigin = native.timeOrigin;
// cancelFetch(promise): abandons the transfer behind a promise nativeFetch returned; the promise
// then never settles. Does nothing for a settled or unknown promise.
export const nativeCancelFetch = native.cancelFetch;
// writeBody(u8) -> boolean | Promise<boolean>: one piece of the running request's streamed
// response body, to the host's body writer (may wait while the client is slow); false when the
// client is gone. A detached writer that cannot take the piece yet gives a promise instead, which
// settles once it did (true) or its client left (false).
export const nativeWriteBody = native.writeBody;
// readBody(max) -> Uint8Array | null: the next bytes (at most max) of the running request's body
// while it is still arriving, waiting for them within the wall limit; null at its end. Throws a
// TypeError when it cannot be read (client gone, malformed framing, over the body limit).
export const nativeReadBody = native.readBody;
// zlibNew(format, decompress) -> handle; zlibWrite(handle, bytes) -> Uint8Array[];
// zlibFlush(handle) -> Uint8Array[]: CompressionStream's zlib streams. TypeError on corrupt,
// trailing or truncated input; a spent memory budget stops the script.
export const nativeZlibNew = native.zlibNew;
export const nativeZlibWrite = native.zlibWrite;
export const nativeZlibFlush = native.zlibFlush;
// crypto*: crypto.subtle over OpenSSL (lib/engine/v8/crypto/crypto_natives.h lists them). Keys
// are opaque handles; failures throw Errors named after WebCrypto's DOMExceptions.
export const nativeCryptoDigest = native.cryptoDigest;
export const nativeCryptoDigestNew = native.cryptoDigestNew;
export const nativeCryptoDigestUpdate = native.cryptoDigestUpdate;
export const nativeCryptoDigestFinal = native.cryptoDigestFinal;
export const nativeCryptoTimingSafeEqual = native.cryptoTimingSafeEqual;
export const nativeCryptoSecretKey = native.cryptoSecretKey;
export const nativeCryptoSecretExport = native.cryptoSecretExport;
export const nativeCryptoHmac = native.cryptoHmac;
export const nativeCryptoAes = native.cryptoAes;
export const nativeCryptoHkdf = native.cryptoHkdf;
export const nativeCryptoPbkdf2New = native.cryptoPbkdf2New;
export const nativeCryptoPbkdf2Run = native.cryptoPbkdf2Run;
export const nativeCryptoGenerateKeyPair = native.cryptoGenerateKeyPair;
export const nativeCryptoImportKey = native.cryptoImportKey;
export const nativeCryptoImportJwk = native.cryptoImportJwk;
export const nativeCryptoExportKey = native.cryptoExportKey;
export const nativeCryptoExportJwk = native.cryptoExportJwk;
export const nativeCryptoKeyDetails = native.cryptoKeyDetails;
export const nativeCryptoSign = native.cryptoSign;
export const nativeCryptoVerify = native.cryptoVerify;
export const nativeCryptoRsaOaep = native.cryptoRsaOaep;
export const nativeCryptoDeriveShared = native.cryptoDeriveShared;
// kvGet(ns, key) -> null | [Uint8Array, metadata JSON | null, expiration]; kvPut(ns, key, u8,
// expiration, expirationTtl, metadata JSON | null); kvDelete(ns, key); kvList(ns, prefix, limit,
// cursor) -> [[name, expiration, metadata | null, ...], complete, cursor]: the KV store of the
// running request (lib/engine/v8/kv_natives.h). Throw TypeError / Error naming a broken limit.
export const nativeKvGet = native.kvGet;
export const nativeKvPut = native.kvPut;
export const nativeKvDelete = native.kvDelete;
export const nativeKvList = native.kvList;
