// chromawal::copy_log (include/chromawal/log_copy.hpp): a store-neutral copy through the stores'
// export_rows / export_entries / import_rows (wal/log_store.hpp).
//
// Order: the lanes and name releases first (which also checks that the target is empty and
// removes its id, so that a half-done copy cannot be used), then the entries in batches (keyset
// pagination by lane and position, each batch one transaction), then the applied positions and
// dead letters read after the entries, and last the source's id. A change of the source's lanes
// between the first and the last read (an append, a rename, a prune) fails the copy before it
// gets an id.
#include <chromawal/log_copy.hpp>

#include <cstddef>
#include <string>
#include <tuple>
#include <utility>

#include "wal/open_log_store.hpp"

namespace chromawal {

namespace {

constexpr std::size_t batch_entries = 500;
constexpr std::size_t batch_bytes = std::size_t{16} << 20;

auto lane_state(const wal::lane_row& l) {
    return std::tie(l.lane_id, l.key.tenant, l.key.database, l.key.collection, l.holds_name, l.next_position,
                    l.pruned_through);
}

bool same_lanes(const wal::log_rows& a, const wal::log_rows& b) {
    if (a.lanes.size() != b.lanes.size() || a.name_releases.size() != b.name_releases.size()) return false;
    for (std::size_t i = 0; i < a.lanes.size(); ++i) {
        if (lane_state(a.lanes[i]) != lane_state(b.lanes[i])) return false;
    }
    return true;
}

}  // namespace

log_copy_report copy_log(const client_config& from, const client_config& to,
                         const std::function<void(std::int64_t)>& progress) {
    auto source = wal::open_log_store(from, 2).store;
    auto target = wal::open_log_store(to, 2).store;
    source->migrate();
    target->migrate();
    const wal::log_identity source_id = source->identity();
    const wal::log_identity target_id = target->identity();
    if (source_id.id == target_id.id) {
        throw invalid_argument("copy_log: the target already holds this log (" + source_id.id +
                               "): it is the source itself, or a finished copy of it (" + target_id.description + ")");
    }
    log_copy_report report;
    report.log_id = source_id.id;
    report.from = source_id.description;
    report.to = target_id.description;

    const wal::log_rows before = source->export_rows();
    wal::log_rows head;
    head.lanes = before.lanes;
    head.name_releases = before.name_releases;
    target->import_rows(head, wal::import_step::begin, source_id.id);
    report.lanes = static_cast<std::int64_t>(head.lanes.size());

    std::int64_t lane = 0, position = 0;
    for (;;) {
        wal::log_rows batch;
        batch.entries = source->export_entries(lane, position, batch_entries, batch_bytes);
        if (batch.entries.empty()) break;
        lane = batch.entries.back().lane_id;
        position = batch.entries.back().position;
        target->import_rows(batch, wal::import_step::entries, source_id.id);
        report.entries += static_cast<std::int64_t>(batch.entries.size());
        if (progress) progress(report.entries);
    }

    wal::log_rows tail = source->export_rows();
    if (!same_lanes(before, tail)) {
        throw log_unavailable(
            "copy_log: the source log changed during the copy (a client of it wrote, renamed or "
            "pruned): stop every client of " +
            source_id.description + ", drop the target (" + target_id.description +
            ", left without an id: no client can use it) and copy again");
    }
    tail.lanes.clear();
    tail.name_releases.clear();
    target->import_rows(tail, wal::import_step::finish, source_id.id);
    report.applied_positions = static_cast<std::int64_t>(tail.positions.size());
    report.dead_letters = static_cast<std::int64_t>(tail.dead_letters.size());
    report.to = target->identity().description;
    return report;
}

}  // namespace chromawal
