# Developer options: warnings (always on for our own targets), warnings-as-errors and
# sanitizers (opt-in; CI turns them on). Never forced on consumers.
set(CHROMAWAL_SANITIZE "" CACHE STRING "Sanitizers for developer builds: 'address,undefined' or 'thread'")

function(chromawal_developer_flags target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                           -Wno-sign-conversion -Wnon-virtual-dtor -Wold-style-cast)
    if(CHROMAWAL_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
endfunction()

if(CHROMAWAL_SANITIZE)
  add_compile_options(-fsanitize=${CHROMAWAL_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${CHROMAWAL_SANITIZE})
endif()
