// The natives behind KV bindings (env.BINDING, js/src/kv.js), listed in natives.h's table:
//
//   kvGet(ns, key) -> null | [Uint8Array value, metadata JSON text | null, expiration]
//   kvPut(ns, key, Uint8Array value, expiration, expirationTtl, metadata JSON text | null)
//   kvDelete(ns, key)
//   kvList(ns, prefix, limit, cursor) -> [[name, expiration, metadata | null, ...], complete,
//   cursor]
//
// Each call is one operation against the request's budget (KvLimits::
// max_operations_per_invocation) and is counted for metering in IsolateState::kv_counters. Calls
// block the isolate's thread until the KvStore answers (a put until its group commit is durable);
// that is wall time, not CPU time, and other requests' puts join the same commit meanwhile.
// Errors: INVALID_ARGUMENT becomes a TypeError, anything else an Error, with the KvStore's
// message (which names the limit).
#ifndef COSMO_ENGINE_V8_KV_NATIVES_H_
#define COSMO_ENGINE_V8_KV_NATIVES_H_

#include <v8.h>

namespace cosmo::v8engine::kv_natives {

void Get(const v8::FunctionCallbackInfo<v8::Value>& info);
void Put(const v8::FunctionCallbackInfo<v8::Value>& info);
void Delete(const v8::FunctionCallbackInfo<v8::Value>& info);
void List(const v8::FunctionCallbackInfo<v8::Value>& info);

}  // namespace cosmo::v8engine::kv_natives

#endif  // COSMO_ENGINE_V8_KV_NATIVES_H_
