// A script's response, from the values the runtime's JavaScript hands over, into an HttpResponse.
//
// Two ways reach it: the parts array [status, flatHeaders, body] that responseParts() returns
// (JsInstance reads its elements, one API call each), and the native respond(status, body,
// ...headers) that invokeFast calls for a synchronous response, whose arguments are read without
// any. Both validate the same way: an invalid status, header or body is an exception outcome in
// the result with "invalid response: ...", never a JavaScript exception.
//
// Called on the thread holding the isolate (IsolateLock), inside a HandleScope.
#ifndef COSMO_ENGINE_V8_RESPONSE_FIELDS_H_
#define COSMO_ENGINE_V8_RESPONSE_FIELDS_H_

#include <v8.h>

#include <cstddef>
#include <string_view>

#include "absl/container/inlined_vector.h"
#include "cosmo/invocation.h"

namespace cosmo::v8engine {

// A flat header list's elements (name0, value0, ...) as the functions below take them.
using HeaderFields = absl::InlinedVector<v8::Local<v8::Value>, 8>;

// A header field the runtime's JavaScript passes as string constants: content-type
// text/plain;charset=UTF-8, which a string or `new Response(text)` answers with. Both are
// internalized, so respond() receives these very objects, and the field is taken by identity
// without copying and checking its strings again. Owned by the instance; the Globals are reset
// before its isolate goes.
struct KnownHeader {
  // Sets both forms of the field from one pair of texts, which must outlive it (literals): the
  // strings as internalized V8 strings of `isolate` (the current one, in a context scope).
  void Set(v8::Isolate* isolate, std::string_view name_literal, std::string_view value_literal);

  v8::Global<v8::String> name;
  v8::Global<v8::String> value;
  std::string_view name_text;
  std::string_view value_text;
};

// Appends the elements of `list` to *fields, one API call each; false when reading one threw.
bool ReadHeaderList(v8::Local<v8::Context> context, v8::Local<v8::Array> list,
                    HeaderFields* fields);

// Sets result.response's status and headers from `status` and the flat header list `fields`
// (name0, value0, name1, ...; an odd last one is ignored) and the outcome kOk; when they are
// invalid, the outcome kException with why. Returns whether they were valid. A field that is
// `known` (when given) is taken as its text.
bool SetResponseHead(v8::Isolate* isolate, v8::Local<v8::Value> status,
                     const v8::Local<v8::Value>* fields, size_t field_count, InvokeResult& result,
                     const KnownHeader* known = nullptr);

// SetResponseHead, then the body (a string, bytes or null/undefined) into result.response.body.
void SetResponse(v8::Isolate* isolate, v8::Local<v8::Value> status,
                 const v8::Local<v8::Value>* fields, size_t field_count, v8::Local<v8::Value> body,
                 InvokeResult& result, const KnownHeader* known = nullptr);

}  // namespace cosmo::v8engine

#endif  // COSMO_ENGINE_V8_RESPONSE_FIELDS_H_
