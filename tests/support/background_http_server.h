// Serves an httplib server (Server or SSLServer, routes already set) on a free 127.0.0.1 port
// from a thread of its own, for tests that need a real peer: ready to accept when constructed,
// stopped and joined on destruction. Borrows the server, which must outlive it. Thread-compatible.
#ifndef COSMO_TESTS_SUPPORT_BACKGROUND_HTTP_SERVER_H_
#define COSMO_TESTS_SUPPORT_BACKGROUND_HTTP_SERVER_H_

#include <httplib.h>

#include <chrono>
#include <thread>

namespace cosmo::testing {

template <typename Server>
class BackgroundHttpServer {
 public:
  explicit BackgroundHttpServer(Server& server) : server_(server) {
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // Ready once the accept loop runs; a stop() before that would be lost. Bounded, so a server
    // that failed to bind (port_ < 0) fails the test instead of hanging it.
    for (int i = 0; i < 5000 && !server_.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ~BackgroundHttpServer() {
    server_.stop();
    thread_.join();
  }
  BackgroundHttpServer(const BackgroundHttpServer&) = delete;
  BackgroundHttpServer& operator=(const BackgroundHttpServer&) = delete;

  // The loopback port, or -1 when no port could be bound.
  int port() const { return port_; }

 private:
  Server& server_;
  int port_ = -1;
  std::thread thread_;
};

}  // namespace cosmo::testing

#endif  // COSMO_TESTS_SUPPORT_BACKGROUND_HTTP_SERVER_H_
