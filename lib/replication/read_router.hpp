#pragma once
// The read router: picks the instances a read may use (read policy, health, repair state,
// read-your-writes) and runs the read on the first that answers, failing over on transport
// errors. Also list_collections and collection_exists.
//
// Owns: no state of its own (the read order's random generators are thread-local).
// May touch: context (config, log store, instances, emit), instance_state (health, known
// positions, collection UUIDs), written_positions (read only).
// Used by: replicated_client.
//
// Thread-safety: every member function may be called from any thread at once.

#include <chromawal/client.hpp>

#include "replication/context.hpp"
#include "replication/written_positions.hpp"

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace chromawal::detail {

class read_router {
public:
    read_router(context& ctx, const written_positions& written) : ctx_(ctx), written_(written) {}

    /// Runs `f` on the collection of a usable instance (read policy, health, read-your-writes),
    /// failing over to the next on transport errors.
    void read(const wal::lane_key& key, read_options options, const std::function<void(chroma_collection&)>& f);
    /// Reads that do not concern one collection go to the first healthy instance that answers,
    /// in `scope`'s tenant and database (scope.collection is not used).
    std::vector<std::string> list_collections(const wal::lane_key& scope, std::optional<std::size_t> limit,
                                              std::size_t offset);
    bool collection_exists(const wal::lane_key& key);
    /// @throws the server's not_found when the collection does not exist (asked of the server).
    void require_collection(const wal::lane_key& key);
    /// Runs `f` with the client of the first healthy instance that answers (in scope's tenant and
    /// database); a server's refusal (4xx) is not failed over.
    void read_any(const wal::lane_key& scope, const char* what, const std::function<void(const chroma_client&)>& f);

private:
    /// The healthy instances in the order the read policy gives.
    std::vector<instance_state*> read_order();

    context& ctx_;
    const written_positions& written_;
};

}  // namespace chromawal::detail
