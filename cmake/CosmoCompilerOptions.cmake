# Warning and sanitizer settings, applied to CosmoCompute's own targets only (never to
# dependencies): call cosmo_target_defaults(<target>) on each target we define.

set(_cosmo_valid_sanitizers "" address undefined "address,undefined" "undefined,address" thread)
if(NOT COSMO_SANITIZE IN_LIST _cosmo_valid_sanitizers)
  message(FATAL_ERROR "COSMO_SANITIZE='${COSMO_SANITIZE}' is not one of: address, undefined, "
                      "address,undefined, thread (or empty)")
endif()

option(COSMO_FUZZ "Build the fuzz targets with libFuzzer (needs clang; see scripts/fuzz)" OFF)

set(COSMO_SANITIZER_FLAGS "")
if(COSMO_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "COSMO_FUZZ needs clang: configure with CC=clang CXX=clang++ (scripts/fuzz does)")
  endif()
  # Coverage instrumentation for all of our code; the fuzz executables add -fsanitize=fuzzer.
  list(APPEND COSMO_SANITIZER_FLAGS -fsanitize=fuzzer-no-link)
endif()
if(COSMO_SANITIZE)
  list(APPEND COSMO_SANITIZER_FLAGS "-fsanitize=${COSMO_SANITIZE}" -fno-omit-frame-pointer)
  if(COSMO_SANITIZE MATCHES "undefined")
    # libnode is built without RTTI, so UBSan's vptr check cannot find V8's typeinfo.
    list(APPEND COSMO_SANITIZER_FLAGS -fno-sanitize=vptr -fno-sanitize-recover=undefined)
  endif()
endif()
if(COSMO_SANITIZER_FLAGS)
  # Sanitizers must also be on the link line of every executable and shared library.
  add_link_options(${COSMO_SANITIZER_FLAGS})
endif()

# ThreadSanitizer cannot see the locks of Debian's uninstrumented Abseil; route our calls to them
# through lib/common/tsan_absl_sync.cc, which tells TSan about each acquire and release.
set(COSMO_TSAN_ABSL_SYMBOLS
  _ZN4absl7debian35Mutex4LockEv
  _ZN4absl7debian35Mutex6UnlockEv
  _ZN4absl7debian35Mutex10ReaderLockEv
  _ZN4absl7debian35Mutex12ReaderUnlockEv
  _ZN4absl7debian35Mutex7TryLockEv
  _ZN4absl7debian35Mutex13ReaderTryLockEv
  _ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE
  _ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE
  _ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE
  _ZN4absl7debian312Notification6NotifyEv
  _ZN4absl7debian312Notification23HasBeenNotifiedInternalEPKSt6atomicIbE
  _ZNK4absl7debian312Notification19WaitForNotificationEv
  _ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE
  _ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE)
if(COSMO_SANITIZE STREQUAL "thread")
  foreach(_symbol ${COSMO_TSAN_ABSL_SYMBOLS})
    add_link_options("LINKER:--wrap=${_symbol}")
  endforeach()
endif()

function(cosmo_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter
                                           # Designated initializers of option structs rely on
                                           # in-class defaults for the fields they omit.
                                           -Wno-missing-field-initializers
                                           ${COSMO_SANITIZER_FLAGS})
  if(COSMO_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(COSMO_SANITIZER_FLAGS AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC 12's flow analysis reports false -Wmaybe-uninitialized inside libstdc++ (std::regex,
    # std::function) once sanitizers instrument the code; it stays a warning there.
    target_compile_options(${target} PRIVATE -Wno-error=maybe-uninitialized)
  endif()
  get_target_property(_type ${target} TYPE)
  if(COSMO_SANITIZE STREQUAL "thread" AND _type MATCHES "^(EXECUTABLE|SHARED_LIBRARY)$")
    # Every linked binary gets the wrappers the --wrap options above point to, whether or not it
    # links CosmoCompute's libraries (the load generator does not).
    target_sources(${target} PRIVATE $<TARGET_OBJECTS:cosmo_tsan_absl_sync>)
    target_link_libraries(${target} PRIVATE absl::synchronization)
  endif()
endfunction()
