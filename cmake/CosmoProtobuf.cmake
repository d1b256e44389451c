# cosmo_proto_library(<target> PROTOS <file.proto>... [GRPC])
#
# Generates C++ from .proto files under proto/ (import root: proto/) with Debian's protoc and,
# with GRPC, grpc_cpp_plugin, and wraps the result in a static library. Generated headers are
# included as "cosmo/v1/<name>.pb.h".

find_program(COSMO_PROTOC protoc REQUIRED)
find_program(COSMO_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)

function(cosmo_proto_library target)
  cmake_parse_arguments(ARG "GRPC" "" "PROTOS" ${ARGN})
  set(_root "${PROJECT_SOURCE_DIR}/proto")
  set(_out "${PROJECT_BINARY_DIR}/proto_gen")
  file(MAKE_DIRECTORY "${_out}")
  set(_srcs "")
  foreach(_proto ${ARG_PROTOS})
    get_filename_component(_abs "${_proto}" ABSOLUTE)
    file(RELATIVE_PATH _rel "${_root}" "${_abs}")
    string(REGEX REPLACE "\\.proto$" "" _stem "${_rel}")
    set(_gen "${_out}/${_stem}.pb.cc" "${_out}/${_stem}.pb.h")
    set(_cmd_args --cpp_out=${_out})
    if(ARG_GRPC)
      list(APPEND _gen "${_out}/${_stem}.grpc.pb.cc" "${_out}/${_stem}.grpc.pb.h")
      list(APPEND _cmd_args --grpc_out=${_out} --plugin=protoc-gen-grpc=${COSMO_GRPC_CPP_PLUGIN})
    endif()
    add_custom_command(
      OUTPUT ${_gen}
      COMMAND ${COSMO_PROTOC} -I ${_root} ${_cmd_args} ${_abs}
      DEPENDS ${_abs}
      COMMENT "protoc ${_rel}"
      VERBATIM)
    list(APPEND _srcs ${_gen})
  endforeach()
  add_library(${target} STATIC ${_srcs})
  target_include_directories(${target} PUBLIC "$<BUILD_INTERFACE:${_out}>")
  target_link_libraries(${target} PUBLIC protobuf::libprotobuf)
  if(ARG_GRPC)
    target_link_libraries(${target} PUBLIC gRPC::grpc++)
  endif()
endfunction()
