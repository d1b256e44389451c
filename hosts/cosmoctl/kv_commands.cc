#include "kv_commands.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "format.h"
#include "table.h"

namespace cosmoctl {
namespace {

namespace pb = ::cosmo::v1;
using json = nlohmann::ordered_json;

void PrintJson(const json& value) { std::cout << value.dump(2) << "\n"; }

// One call of `method` with the token and deadline; the failure to print when it fails.
template <typename Request, typename Response>
std::optional<KvFailure> Call(const KvClient& client, const std::string& what,
                              grpc::Status (pb::Kv::Stub::*method)(grpc::ClientContext*,
                                                                   const Request&, Response*),
                              const Request& request, Response* response) {
  grpc::ClientContext context;
  client.prepare(&context);
  grpc::Status status = (client.stub->*method)(&context, request, response);
  if (!status.ok()) return client.fail(what, status);
  return std::nullopt;
}

std::string Expiration(int64_t expiration) {
  if (expiration == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixSeconds(expiration),
                          absl::LocalTimeZone());
}

std::optional<KvFailure> Namespaces(const KvClient& client) {
  pb::ListKvNamespacesResponse response;
  if (auto f = Call(client, "kv namespaces", &pb::Kv::Stub::ListNamespaces,
                    pb::ListKvNamespacesRequest(), &response)) {
    return f;
  }
  if (client.json) {
    json out = json::array();
    for (const auto& ns : response.namespaces()) out.push_back(ToJson(ns));
    PrintJson(out);
    return std::nullopt;
  }
  if (response.namespaces().empty()) {
    std::printf("no KV namespaces yet; bind one with `cosmoctl deploy FAMILY FILE --kv B=NS`\n");
    return std::nullopt;
  }
  Table table({"NAMESPACE", "KEYS", "STORED", "CREATED"});
  for (const auto& ns : response.namespaces()) {
    table.AddRow({ns.name(), absl::StrCat(ns.keys()), HumanBytes(ns.stored_bytes()),
                  HumanTime(ns.create_time())});
  }
  std::fputs(table.Render().c_str(), stdout);
  return std::nullopt;
}

std::optional<KvFailure> List(const KvArgs& a, const KvClient& client) {
  std::vector<pb::KvKey> keys;
  std::string cursor;
  while (true) {
    pb::ListKvKeysRequest request;
    request.set_kv_namespace(a.ns);
    request.set_prefix(a.prefix);
    request.set_limit(a.limit == 0
                          ? 1000
                          : std::min<uint32_t>(static_cast<uint32_t>(a.limit - keys.size()), 1000));
    request.set_cursor(cursor);
    pb::ListKvKeysResponse response;
    if (auto f = Call(client, absl::StrCat("kv list ", a.ns), &pb::Kv::Stub::ListKeys, request,
                      &response)) {
      return f;
    }
    for (const auto& key : response.keys()) keys.push_back(key);
    cursor = response.cursor();
    if (response.list_complete() || (a.limit != 0 && keys.size() >= a.limit)) break;
  }
  if (client.json) {
    json out = json::array();
    for (const auto& key : keys) out.push_back(ToJson(key));
    PrintJson(out);
    return std::nullopt;
  }
  Table table({"KEY", "EXPIRES", "METADATA"});
  for (const auto& key : keys) {
    table.AddRow(
        {key.name(), Expiration(key.expiration()), key.has_metadata() ? key.metadata() : "-"});
  }
  std::fputs(table.Render().c_str(), stdout);
  return std::nullopt;
}

std::optional<KvFailure> Get(const KvArgs& a, const KvClient& client) {
  pb::GetKvValueRequest request;
  request.set_kv_namespace(a.ns);
  request.set_key(a.key);
  pb::GetKvValueResponse response;
  if (auto f = Call(client, absl::StrCat("kv get ", a.ns, " ", a.key), &pb::Kv::Stub::GetValue,
                    request, &response)) {
    return f;
  }
  if (client.json) {
    PrintJson(ToJson(response));
  } else {
    std::fwrite(response.value().data(), 1, response.value().size(), stdout);
  }
  return std::nullopt;
}

std::optional<KvFailure> Put(const KvArgs& a, const KvClient& client) {
  pb::PutKvValueRequest request;
  request.set_kv_namespace(a.ns);
  request.set_key(a.key);
  if (!a.file.empty() && *a.value_opt) {
    return KvFailure{"kv put: give VALUE or --file, not both", 2};
  }
  if (!a.file.empty()) {
    std::ifstream in(a.file, std::ios::binary);
    if (!in) return KvFailure{absl::StrCat("--file ", a.file, ": cannot read the file"), 2};
    std::stringstream contents;
    contents << in.rdbuf();
    request.set_value(contents.str());
  } else if (*a.value_opt) {
    request.set_value(a.value);
  } else {
    return KvFailure{"kv put: give VALUE or --file F", 2};
  }
  request.set_expiration_ttl(a.ttl);
  request.set_expiration(a.expiration);
  if (*a.metadata_opt) {
    if (!nlohmann::json::accept(a.metadata)) {
      return KvFailure{
          absl::StrCat("--metadata ", a.metadata, ": not valid JSON (e.g. --metadata '{\"n\":1}')"),
          2};
    }
    request.set_metadata(a.metadata);
  }
  pb::PutKvValueResponse response;
  if (auto f = Call(client, absl::StrCat("kv put ", a.ns, " ", a.key), &pb::Kv::Stub::PutValue,
                    request, &response)) {
    return f;
  }
  if (client.json) {
    PrintJson(json{{"kv_namespace", a.ns}, {"key", a.key}, {"bytes", request.value().size()}});
  } else {
    std::printf("put %s %s (%s)\n", a.ns.c_str(), a.key.c_str(),
                HumanBytes(request.value().size()).c_str());
  }
  return std::nullopt;
}

std::optional<KvFailure> Delete(const KvArgs& a, const KvClient& client) {
  pb::DeleteKvValueRequest request;
  request.set_kv_namespace(a.ns);
  request.set_key(a.key);
  pb::DeleteKvValueResponse response;
  if (auto f = Call(client, absl::StrCat("kv delete ", a.ns, " ", a.key),
                    &pb::Kv::Stub::DeleteValue, request, &response)) {
    return f;
  }
  if (client.json) {
    PrintJson(json{{"kv_namespace", a.ns}, {"key", a.key}, {"deleted", true}});
  } else {
    std::printf("deleted %s %s\n", a.ns.c_str(), a.key.c_str());
  }
  return std::nullopt;
}

std::optional<KvFailure> DeleteNamespace(const KvArgs& a, const KvClient& client) {
  pb::DeleteKvNamespaceRequest request;
  request.set_kv_namespace(a.ns);
  pb::DeleteKvNamespaceResponse response;
  if (auto f = Call(client, absl::StrCat("kv delete-namespace ", a.ns),
                    &pb::Kv::Stub::DeleteNamespace, request, &response)) {
    return f;
  }
  if (client.json) {
    PrintJson(json{{"kv_namespace", a.ns}, {"deleted", true}});
  } else {
    std::printf("deleted KV namespace %s and all its keys\n", a.ns.c_str());
  }
  return std::nullopt;
}

}  // namespace

void AddKvCommands(CLI::App& app, KvArgs* a) {
  a->kv = app.add_subcommand("kv",
                             "KV namespaces: namespaces, list, get, put, delete, "
                             "delete-namespace (docs/kv.md)");
  a->kv->require_subcommand(1);
  a->namespaces = a->kv->add_subcommand("namespaces", "Your KV namespaces");
  a->list = a->kv->add_subcommand("list", "Keys of namespace NS in byte order");
  a->list->add_option("NS", a->ns, "Namespace")->required();
  a->list->add_option("--prefix", a->prefix, "Only keys starting with this");
  a->list->add_option("-n,--limit", a->limit, "Show at most this many keys");
  a->get = a->kv->add_subcommand("get", "Print the value of KEY (its bytes, as stored)");
  a->get->add_option("NS", a->ns, "Namespace")->required();
  a->get->add_option("KEY", a->key, "Key")->required();
  a->put = a->kv->add_subcommand("put", "Store VALUE (or --file F) at KEY, durably");
  a->put->add_option("NS", a->ns, "Namespace (created for you when nobody owns it)")->required();
  a->put->add_option("KEY", a->key, "Key (1-512 bytes of UTF-8)")->required();
  a->value_opt = a->put->add_option("VALUE", a->value, "The value");
  a->put->add_option("--file", a->file, "Read the value from this file");
  a->put->add_option("--ttl", a->ttl, "Expire after this many seconds (at least 60)");
  a->put->add_option("--expiration", a->expiration,
                     "Expire at this Unix time in seconds (at least 60 s from now)");
  a->metadata_opt = a->put->add_option("--metadata", a->metadata, "Metadata: JSON, at most 1 KiB");
  a->del = a->kv->add_subcommand("delete", "Delete KEY");
  a->del->add_option("NS", a->ns, "Namespace")->required();
  a->del->add_option("KEY", a->key, "Key")->required();
  a->delete_namespace =
      a->kv->add_subcommand("delete-namespace", "Delete namespace NS and all its keys");
  a->delete_namespace->add_option("NS", a->ns, "Namespace")->required();
}

std::optional<KvFailure> RunKvCommand(const KvArgs& a, const KvClient& client) {
  if (*a.namespaces) return Namespaces(client);
  if (*a.list) return List(a, client);
  if (*a.get) return Get(a, client);
  if (*a.put) return Put(a, client);
  if (*a.del) return Delete(a, client);
  return DeleteNamespace(a, client);
}

}  // namespace cosmoctl
