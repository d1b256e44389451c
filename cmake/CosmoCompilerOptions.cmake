# Warning and sanitizer settings, applied to CosmoCompute's own targets only (never to
# dependencies): call cosmo_target_defaults(<target>) on each target we define.

set(_cosmo_valid_sanitizers "" address undefined "address,undefined" "undefined,address" thread)
if(NOT COSMO_SANITIZE IN_LIST _cosmo_valid_sanitizers)
  message(FATAL_ERROR "COSMO_SANITIZE='${COSMO_SANITIZE}' is not one of: address, undefined, "
                      "address,undefined, thread (or empty)")
endif()

set(COSMO_SANITIZER_FLAGS "")
if(COSMO_SANITIZE)
  list(APPEND COSMO_SANITIZER_FLAGS "-fsanitize=${COSMO_SANITIZE}" -fno-omit-frame-pointer)
  if(COSMO_SANITIZE MATCHES "undefined")
    # libnode is built without RTTI, so UBSan's vptr check cannot find V8's typeinfo.
    list(APPEND COSMO_SANITIZER_FLAGS -fno-sanitize=vptr -fno-sanitize-recover=undefined)
  endif()
  # Sanitizers must also be on the link line of every executable and shared library.
  add_link_options(${COSMO_SANITIZER_FLAGS})
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
endfunction()
