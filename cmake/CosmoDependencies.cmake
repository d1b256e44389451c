# Finds every dependency from Debian 12's packages. scripts/setup installs them.

find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(absl CONFIG REQUIRED)
find_package(OpenSSL REQUIRED)
# libcurl (OpenSSL flavour) for outbound fetch() in the JavaScript engine.
find_package(CURL REQUIRED)
# zlib for CompressionStream and DecompressionStream in the JavaScript engine.
find_package(ZLIB REQUIRED)
find_package(leveldb CONFIG REQUIRED)
find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_package(nlohmann_json 3 CONFIG REQUIRED)

# libcbor ships only a pkg-config file on Debian.
pkg_check_modules(CBOR REQUIRED IMPORTED_TARGET libcbor)

# cpp-httplib is a prebuilt shared library on Debian; its .pc carries the compile definitions
# (OpenSSL, zlib, brotli support) that change class layouts, so it must come through pkg-config.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)

# V8 from libnode-dev.
find_package(V8 REQUIRED)

if(COSMO_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
endif()
if(COSMO_BUILD_BENCHMARKS)
  find_package(benchmark CONFIG REQUIRED)
endif()

find_program(COSMO_NODE_EXECUTABLE node)
find_program(COSMO_PYTHON_EXECUTABLE python3)
