# Finds V8 as Debian's libnode-dev ships it: headers under /usr/include/node, library libnode.
#
# Defines the imported target V8::V8 and V8_VERSION (from v8-version.h).
# libnode is built without RTTI: translation units with classes deriving from V8 classes need
# -fno-rtti (lib/engine/v8 sets it on its own target).

find_path(V8_INCLUDE_DIR NAMES v8.h v8-version.h PATH_SUFFIXES node)
find_library(V8_LIBRARY NAMES node libnode.so.108)

if(V8_INCLUDE_DIR AND EXISTS "${V8_INCLUDE_DIR}/v8-version.h")
  file(STRINGS "${V8_INCLUDE_DIR}/v8-version.h" _v8_version_lines
       REGEX "^#define V8_(MAJOR_VERSION|MINOR_VERSION|BUILD_NUMBER|PATCH_LEVEL) ")
  foreach(_part MAJOR_VERSION MINOR_VERSION BUILD_NUMBER PATCH_LEVEL)
    string(REGEX MATCH "V8_${_part} ([0-9]+)" _m "${_v8_version_lines}")
    set(_v8_${_part} "${CMAKE_MATCH_1}")
  endforeach()
  set(V8_VERSION
      "${_v8_MAJOR_VERSION}.${_v8_MINOR_VERSION}.${_v8_BUILD_NUMBER}.${_v8_PATCH_LEVEL}")
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(V8
  REQUIRED_VARS V8_LIBRARY V8_INCLUDE_DIR
  VERSION_VAR V8_VERSION
  REASON_FAILURE_MESSAGE "install Debian's libnode-dev (scripts/setup does)")

if(V8_FOUND AND NOT TARGET V8::V8)
  add_library(V8::V8 SHARED IMPORTED)
  set_target_properties(V8::V8 PROPERTIES
    IMPORTED_LOCATION "${V8_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${V8_INCLUDE_DIR}")
endif()
mark_as_advanced(V8_INCLUDE_DIR V8_LIBRARY)
