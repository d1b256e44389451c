#include "store/etcd/etcd_watch.h"

#include <algorithm>
#include <utility>

#include "absl/time/time.h"
#include "store/etcd/etcd_client.h"
#include "store/etcd/etcd_layout.h"
#include "store/etcd/etcd_store.h"

namespace cosmo {

EtcdWatch::EtcdWatch(EtcdStore* store, std::string prefix, int64_t start_revision,
                     std::function<void(const WatchEvent&)> callback)
    : store_(store),
      prefix_(std::move(prefix)),
      callback_(std::move(callback)),
      next_revision_(start_revision),
      thread_([this] { Run(); }) {}

EtcdWatch::~EtcdWatch() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }
  thread_.join();
}

void EtcdWatch::Run() {
  for (int attempt = 0;; ++attempt) {
    Stream();
    // The stream ended: the member died, lost its leader, or the watch was cancelled. Pause a
    // little (waking at once when stopping) and resume on the next endpoint.
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), EtcdClient::Backoff(std::min(attempt, 4)));
    if (stopping_) return;
  }
}

void EtcdWatch::Stream() {
  grpc::ClientContext context;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    context_ = &context;
  }
  size_t endpoint = 0;
  std::unique_ptr<etcdserverpb::Watch::Stub> stub = store_->client().NewWatchStub(&endpoint);
  EtcdClient::PrepareContext(&context);
  std::unique_ptr<EtcdClient::WatchStream> stream = stub->Watch(&context);
  etcdserverpb::WatchRequest request;
  etcdserverpb::WatchCreateRequest* create = request.mutable_create_request();
  create->set_key(store_->layout().RecordRangeBegin(prefix_));
  create->set_range_end(store_->layout().RecordRangeEnd(prefix_));
  create->set_start_revision(next_revision_);
  create->set_progress_notify(true);
  bool healthy = false;
  if (stream->Write(request)) {
    etcdserverpb::WatchResponse response;
    while (stream->Read(&response)) {
      if (response.compact_revision() != 0) {
        // The history this watch needed is gone.
        Resync();
        healthy = true;
        break;
      }
      if (response.canceled()) break;
      if (response.created()) continue;
      healthy = true;
      bool resync = false;
      for (const mvccpb::Event& event : response.events()) {
        if (!Deliver(event)) {
          resync = true;
          break;
        }
        next_revision_ = std::max(next_revision_, event.kv().mod_revision() + 1);
      }
      if (resync) {
        Resync();
        break;
      }
      if (response.events().empty()) {
        // A progress notification: every change up to header.revision has been sent.
        next_revision_ = std::max(next_revision_, response.header().revision() + 1);
      }
    }
  }
  context.TryCancel();
  stream->Finish().IgnoreError();
  {
    absl::MutexLock lock(&mu_);
    context_ = nullptr;
  }
  if (!healthy) store_->client().MarkFailed(endpoint);
}

bool EtcdWatch::Deliver(const mvccpb::Event& event) {
  const EtcdLayout& layout = store_->layout();
  WatchEvent out;
  out.key = std::string(layout.UserKey(event.kv().key()));
  out.revision = event.kv().mod_revision();
  if (event.type() == mvccpb::Event::DELETE) {
    out.type = WatchEvent::Type::kDelete;
  } else {
    out.type = WatchEvent::Type::kPut;
    absl::StatusOr<EtcdLayout::Record> record = EtcdLayout::Decode(out.key, event.kv().value());
    if (!record.ok()) return false;
    absl::StatusOr<std::string> value = store_->Resolve(out.key, *record, out.revision);
    if (!value.ok()) return false;  // e.g. compacted since: the reader must re-read
    out.value = *std::move(value);
  }
  callback_(out);
  return true;
}

void EtcdWatch::Resync() {
  // Resume from the current revision and tell the callback to re-read; any change after that
  // revision follows as a normal event.
  absl::StatusOr<int64_t> revision = store_->CurrentRevision();
  if (!revision.ok()) return;  // try again on the next stream
  next_revision_ = *revision + 1;
  WatchEvent event;
  event.type = WatchEvent::Type::kResync;
  event.revision = *revision;
  callback_(event);
}

}  // namespace cosmo
