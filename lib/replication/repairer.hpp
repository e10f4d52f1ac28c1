#pragma once
// Verify and repair: compares two instances collection by collection (digests first, then
// records), and repairs a target from a source by writing the difference through the log (so a
// repair is audited, ordered with the writes around it and applied everywhere), moving the
// target past entries retention pruned when it cannot replay them.
//
// Owns: no state of its own.
// May touch: context (config, log store, instances), applier (apply_through, to catch both
// instances up to the same point of the log), writer (the repair entries), the single-server
// comparison of lib/api/verify_detail.hpp (one implementation for verify and repair),
// api/validate.
// Used by: replicated_client.
//
// Thread-safety: may run concurrently with writes and sync passes (it takes the lane locks like
// any applier); two repairs of one target at once are not coordinated beyond that.

#include <chromawal/client.hpp>

#include "replication/applier.hpp"
#include "replication/context.hpp"
#include "replication/writer.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chromawal::detail {

class repairer {
public:
    repairer(context& ctx, applier& apply, writer& write) : ctx_(ctx), applier_(apply), writer_(write) {}

    verify_result verify(std::string_view a, std::string_view b, const verify_options& options);
    repair_result repair(std::string_view source, std::string_view target, const std::vector<std::string>& only);

private:
    /// Moves `inst` past the pruned entries of a lane (to its head), under the lane lock.
    void skip_pruned(instance_state& inst, std::int64_t lane_id, const wal::lane_key& key);
    /// Brings `inst` up to `position` in the lane (sync-thread style); throws when it cannot.
    void catch_up(instance_state& inst, std::int64_t lane_id, const wal::lane_key& key, std::int64_t position,
                  const char* why);
    void repair_collection(instance_state& source, instance_state& target, const std::string& collection,
                           std::int64_t lane_id, repair_result& out);

    context& ctx_;
    applier& applier_;
    writer& writer_;
};

}  // namespace chromawal::detail
