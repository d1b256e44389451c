# Installs libcosmo, its public headers and a CMake package config, so an out-of-tree program can
#   find_package(cosmo REQUIRED)
#   target_link_libraries(app PRIVATE cosmo::cosmo)
include(CMakePackageConfigHelpers)

install(TARGETS cosmo EXPORT cosmoTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/cosmo" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")
install(EXPORT cosmoTargets NAMESPACE cosmo:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cosmo)

configure_package_config_file("${CMAKE_CURRENT_LIST_DIR}/cosmoConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/cosmoConfig.cmake"
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cosmo)
write_basic_package_version_file("${PROJECT_BINARY_DIR}/cosmoConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/cosmoConfig.cmake" "${PROJECT_BINARY_DIR}/cosmoConfigVersion.cmake"
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cosmo)
