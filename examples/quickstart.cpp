// Quickstart: connect to one Chroma server, create a collection, add records, query them.
//
//   quickstart [http://127.0.0.1:8000]
//
// The URL may also come from the CHROMA_URL environment variable.

#include <chromawal/chromawal.hpp>

#include <cstdlib>
#include <iostream>
#include <vector>

int main(int argc, char** argv) {
    chromawal::connection_options options;
    if (argc > 1) {
        options.base_url = argv[1];
    } else if (const char* url = std::getenv("CHROMA_URL")) {
        options.base_url = url;
    }

    try {
        chromawal::chroma_client client(options);
        std::cout << "connected to " << options.base_url << " (Chroma API " << client.version() << ")\n";

        auto collection =
            client.get_or_create_collection("quickstart", {chromawal::metadata_map{{"purpose", "demo"}}, "cosine", {}});

        // Three 4-dimensional embeddings in one contiguous buffer: no vector of vectors needed.
        const std::vector<float> embeddings = {
            0.9f, 0.1f, 0.0f, 0.0f,  // about cats
            0.8f, 0.2f, 0.1f, 0.0f,  // about lions
            0.0f, 0.1f, 0.9f, 0.3f,  // about databases
        };
        chromawal::record_set records;
        records.ids = {"cat", "lion", "postgres"};
        records.embeddings = chromawal::embedding_view(embeddings, 4);
        records.documents = {"Cats purr.", "Lions roar.", "PostgreSQL keeps a write-ahead log."};
        records.metadatas = {chromawal::metadata_map{{"kind", "animal"}, {"legs", 4}},
                             chromawal::metadata_map{{"kind", "animal"}, {"legs", 4}},
                             chromawal::metadata_map{{"kind", "software"}, {"year", 1996}}};
        collection.upsert(records);
        std::cout << "collection '" << collection.name() << "' holds " << collection.count() << " records\n";

        const std::vector<float> question = {0.85f, 0.15f, 0.05f, 0.0f};
        chromawal::query_options query;
        query.query_embeddings = chromawal::embedding_view(question, 4);
        query.n_results = 2;
        query.where = chromawal::where_filter::eq("kind", "animal");
        const auto result = collection.query(query);
        for (std::size_t i = 0; i < result[0].size(); ++i) {
            std::cout << "  " << result[0].ids[i] << "  distance " << result[0].distances[i] << "  \""
                      << result[0].documents[i].value_or("") << "\"\n";
        }
        return 0;
    } catch (const chromawal::error& e) {
        std::cerr << "quickstart failed: " << e.what() << "\n";
        return 1;
    }
}
