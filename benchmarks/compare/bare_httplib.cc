// cosmo-bare-httplib: cpp-httplib's own ceiling for the comparison in benchmarks/compare: a hello
// server with the library tuned as far as its API allows. Debian's shared library is compiled
// with TCP_NODELAY off, 5 requests per keep-alive connection, 8 threads and a listen backlog of
// 5; each is overridden at run time here.
//
//   cosmo-bare-httplib [--listen=127.0.0.1:0] [--threads=64] [--backlog=4096]
//
// Prints `listening on HOST:PORT` once it accepts connections. Every path answers
// "Hello, world!\n"; /status/NNN answers with status NNN (for the load generator's tests).
// SIGTERM or SIGINT stop it.

#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>

namespace {

struct Flags {
  std::string host = "127.0.0.1";
  int port = 0;
  int threads = 64;
  int backlog = 4096;
};

[[noreturn]] void Usage(const std::string& error) {
  std::fprintf(stderr,
               "cosmo-bare-httplib: %s\n"
               "usage: cosmo-bare-httplib [--listen=HOST:PORT] [--threads=N] [--backlog=N]\n",
               error.c_str());
  std::exit(2);
}

int ParsePositive(std::string_view flag, std::string_view value, int max) {
  char* end = nullptr;
  const std::string text(value);
  const long n = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || n < 0 || n > max) {
    Usage(std::string(flag) + ": '" + text + "' is not an integer in [0, " + std::to_string(max) +
          "]");
  }
  return static_cast<int>(n);
}

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    const size_t eq = arg.find('=');
    std::string_view name = arg.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? "" : arg.substr(eq + 1);
    if (name == "--help" || name == "-h") {
      Usage("a tuned cpp-httplib hello server");
    } else if (name == "--listen") {
      const size_t colon = value.rfind(':');
      if (colon == std::string_view::npos) Usage("--listen: expected HOST:PORT");
      flags.host = std::string(value.substr(0, colon));
      flags.port = ParsePositive(name, value.substr(colon + 1), 65535);
    } else if (name == "--threads") {
      flags.threads = ParsePositive(name, value, 4096);
      if (flags.threads == 0) Usage("--threads: must be positive");
    } else if (name == "--backlog") {
      flags.backlog = ParsePositive(name, value, 65535);
    } else {
      Usage("unknown option '" + std::string(arg) + "'");
    }
  }
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
