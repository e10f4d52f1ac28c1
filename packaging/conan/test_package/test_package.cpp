// Conan's test_package: links chromawal::chromawal, builds a client (no server needed) and
// checks that the library linked is the one whose headers were compiled against.
#include <chromawal/chromawal.hpp>

#include <iostream>
#include <string>

int main() {
    chromawal::chroma_client client(chromawal::connection_options{});
    auto w = chromawal::where_filter::eq("source", "conan");
    if (std::string(chromawal::version()) != CHROMAWAL_VERSION_STRING) {
        std::cerr << "library " << chromawal::version() << " but headers " << CHROMAWAL_VERSION_STRING << "\n";
        return 1;
    }
    std::cout << "chromawal " << chromawal::version() << " " << w.json() << "\n";
    return 0;
}
