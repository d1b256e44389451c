// cosmo-bare-httplib: cpp-httplib's own ceiling for the comparison in benchmarks/compare: a hello
// server with the library tuned as far as its API allows. Debian's shared library is compiled
// with TCP_NODELAY off, 5 requests per keep-alive connection, 8 threads and a listen backlog of
// 5; each is overridden at run time here.
//
//   cosmo-bare-httplib [--listen=127.0.0.1:0] [--threads=64] [--backlog=4096] (see --help)
//
// Prints `listening on HOST:PORT` once it accepts connections. Every path answers
// "Hello, world!\n"; /status/NNN answers with status NNN (for the load generator's tests).
// SIGTERM or SIGINT stop it.

#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>

#include <CLI/CLI.hpp>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "common/host_port.h"

namespace {

struct Flags {
  std::string host = "127.0.0.1";
  int port = 0;
  int threads = 64;
  int backlog = 4096;
};

// Exits 0 after --help, 2 on bad usage.
Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  std::string listen = "127.0.0.1:0";
  CLI::App app{
      "cosmo-bare-httplib: a tuned cpp-httplib hello server, the library's own ceiling for "
      "benchmarks/compare.\nPrints `listening on HOST:PORT` once it accepts connections.",
      "cosmo-bare-httplib"};
  app.option_defaults()->always_capture_default();
  app.add_option("--listen", listen, "HOST:PORT to listen on (port 0 picks a free port)")
      ->check([](const std::string& value) {
        auto address = cosmo::ParseHostPort(value, {.allow_ephemeral_port = true});
        return address.ok() ? std::string() : std::string(address.status().message());
      });
  app.add_option("--threads", flags.threads, "request threads")->check(CLI::Range(1, 4096));
  app.add_option("--backlog", flags.backlog, "listen backlog")->check(CLI::Range(0, 65535));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    std::exit(e.get_exit_code() == 0 ? 0 : 2);
  }
  const cosmo::HostPort address =
      cosmo::ParseHostPort(listen, {.allow_ephemeral_port = true}).value();  // checked above
  flags.host = address.host;
  flags.port = address.port;
  return flags;
}

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  httplib::Server server;
  server.set_tcp_nodelay(true);
  // The count is compared with a per-connection counter; SIZE_MAX never runs out.
  server.set_keep_alive_max_count(SIZE_MAX);
  server.set_keep_alive_timeout(60);
  const int threads = flags.threads;
  server.new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  server.Get(R"(/status/(\d+))", [](const httplib::Request& req, httplib::Response& res) {
    res.status = std::atoi(req.matches[1].str().c_str());
    res.set_content("status\n", "text/plain; charset=UTF-8");
  });
  auto hello = [](const httplib::Request&, httplib::Response& res) {
    res.set_content("Hello, world!\n", "text/plain; charset=UTF-8");
  };
  server.Get(".*", hello);
  server.Post(".*", hello);

  // bind_to_port listens with the compiled-in backlog of 5; listening again on the bound socket
  // raises it (Linux applies the new backlog to a listening socket). The socket-options hook
  // sees the listening socket before it is bound, which is how its descriptor is learned.
  int listen_fd = -1;
  server.set_socket_options([&listen_fd](int fd) {
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    listen_fd = fd;
  });
  int port = flags.port;
  if (port == 0) {
    port = server.bind_to_any_port(flags.host);
    if (port < 0) {
      std::fprintf(stderr, "cosmo-bare-httplib: cannot bind %s\n", flags.host.c_str());
      return 1;
    }
  } else if (!server.bind_to_port(flags.host, port)) {
    std::fprintf(stderr, "cosmo-bare-httplib: cannot bind %s:%d\n", flags.host.c_str(), port);
    return 1;
  }

  std::thread stopper([&server, signals] {
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    server.stop();
  });
  stopper.detach();

  if (listen_fd < 0 || ::listen(listen_fd, flags.backlog) != 0) {
    std::fprintf(stderr, "cosmo-bare-httplib: cannot raise the listen backlog\n");
    return 1;
  }

  std::printf("listening on %s:%d\n", flags.host.c_str(), port);
  std::fflush(stdout);
  return server.listen_after_bind() ? 0 : 1;
}
