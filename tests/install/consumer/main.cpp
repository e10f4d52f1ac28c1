// Uses the installed headers and library: builds a filter and a client (no server needed),
// and checks that validation errors arrive as chromawal exceptions.
#include <chromawal/chromawal.hpp>

#include <iostream>
#include <string>

int main() {
    auto w = chromawal::where_filter::eq("source", "wiki") && chromawal::where_filter::gte("year", 2020);
    chromawal::chroma_client client(chromawal::connection_options{});
    try {
        chromawal::where_filter::gt("year", "not a number");
        std::cerr << "expected invalid_argument\n";
        return 1;
    } catch (const chromawal::invalid_argument&) {
    }
    if (std::string(chromawal::version()) != CHROMAWAL_VERSION_STRING) {
        std::cerr << "library version " << chromawal::version() << " but headers " << CHROMAWAL_VERSION_STRING << "\n";
        return 1;
    }
    std::cout << "chromawal " << chromawal::version() << " " << w.json() << "\n";
    return w.json() == R"({"$and":[{"source":{"$eq":"wiki"}},{"year":{"$gte":2020}}]})" ? 0 : 1;
}
