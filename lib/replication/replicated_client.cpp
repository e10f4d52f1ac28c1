#include "replication/replicated_client.hpp"

#include "api/validate.hpp"
#include "chroma/protocol.hpp"
#include "json/writer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <future>
#include <random>
#include <set>

namespace chromawal::detail {

namespace {

using clock = std::chrono::steady_clock;

// A live write catches an instance up by at most this many entries itself; a longer backlog
// is the sync thread's work (the writer should not pay for an outage).
constexpr std::int64_t live_catch_up_limit = 64;
constexpr std::size_t read_batch_entries = 256;
constexpr std::size_t read_batch_bytes = 24u << 20;

std::string new_entry_id() {
    thread_local std::mt19937_64 rng{std::random_device{}() ^
                                     (static_cast<std::uint64_t>(std::random_device{}()) << 32)};
    const std::uint64_t a = rng(), b = rng();
    // RFC 4122 version 4 layout.
    return fmt::format("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", static_cast<std::uint32_t>(a >> 32),
                       static_cast<std::uint32_t>((a >> 16) & 0xFFFF), static_cast<std::uint32_t>(a & 0x0FFF),
                       static_cast<std::uint32_t>(((b >> 48) & 0x3FFF) | 0x8000), b & 0xFFFFFFFFFFFFull);
}

bool is_record_op(wal::op_kind op) {
    return op == wal::op_kind::add || op == wal::op_kind::upsert || op == wal::op_kind::update;
}

const char* route(wal::op_kind op) {
    switch (op) {
        case wal::op_kind::add:
            return "add";
        case wal::op_kind::upsert:
            return "upsert";
        case wal::op_kind::update:
            return "update";
        default:
            return "";
    }
}

bool skipped_state(wal::entry_state s) { return s == wal::entry_state::rejected || s == wal::entry_state::abandoned; }

// The time left before `deadline`, for one request (0: no deadline, the configured timeout).
std::chrono::milliseconds remaining(clock::time_point deadline, const std::string& what) {
    if (deadline == clock::time_point::max()) return std::chrono::milliseconds(0);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0) throw timeout_error(fmt::format("{}: out of time for this write", what));
    return left;
}

double now_epoch() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Rejections that say "this request is invalid", as opposed to "this instance is unwell" or
// "this collection is not here (yet)".
bool is_invalid_request(const server_rejected& e) {
    return e.status() != 404 && e.status() != 408 && e.status() != 429;
}

}  // namespace

replicated_client::replicated_client(client_config config, std::unique_ptr<wal::log_store> store)
    : config_(std::move(config)), store_(std::move(store)) {
    for (const auto& ic : config_.instances) {
        auto inst = std::make_unique<instance_state>(ic, config_.tenant, config_.database);
        inst->set_thresholds(config_.down_after_failures, config_.up_after_successes);
        instance_names_.push_back(ic.name);
        instances_.push_back(std::move(inst));
    }
    store_->migrate();
    store_->set_record_apply_history(config_.record_apply_history);
}

replicated_client::~replicated_client() { stop_background(); }

void replicated_client::start_background() {
    if (!config_.background_threads || sync_thread_.joinable()) return;
    for (std::size_t i = 0; i < instances_.size(); ++i) health_threads_.emplace_back([this, i] { health_loop(i); });
    sync_running_ = true;
    sync_thread_ = std::thread([this] { sync_loop(); });
}

void replicated_client::stop_background() {
    stopping_ = true;
    {
        std::lock_guard<std::mutex> lock(sync_mutex_);
        sync_wake_ = true;
    }
    sync_cv_.notify_all();
    { std::lock_guard<std::mutex> lock(health_sleep_mutex_); }
    health_cv_.notify_all();
    if (sync_thread_.joinable()) sync_thread_.join();
    for (auto& t : health_threads_) {
        if (t.joinable()) t.join();
    }
    health_threads_.clear();
    sync_running_ = false;
}

void replicated_client::emit(event::kind kind, const std::string& instance, const std::string& message) {
    if (!config_.on_event) return;
    try {
        config_.on_event(event{kind, instance, message});
    } catch (...) {
        // An alert hook must never break replication.
    }
}

wal::lane_key replicated_client::key_for(const std::string& collection) const {
    return wal::lane_key{config_.tenant, config_.database, collection};
}

void replicated_client::note_written(const std::string& collection, std::int64_t lane_id, std::int64_t position) {
    std::lock_guard<std::mutex> lock(written_mutex_);
    auto& w = last_written_[collection];
    w.first = lane_id;
    w.second = std::max(w.second, position);
}

// ---------------------------------------------------------------------------------------------
// Write path

write_receipt replicated_client::write_records(const std::string& collection, wal::op_kind op,
                                               const record_set& records) {
    validate_records(records, op == wal::op_kind::add      ? write_op::add
                              : op == wal::op_kind::upsert ? write_op::upsert
                                                           : write_op::update);
    return write_entry(collection, op, wal::encode_records(records));
}

write_receipt replicated_client::write_delete(const std::string& collection, const delete_options& selector) {
    validate_delete(selector);
    return write_entry(collection, wal::op_kind::delete_records, chroma::encode_delete(selector));
}

write_receipt replicated_client::write_create(const std::string& collection, const collection_options& options) {
    validate_collection_name(collection);
    if (options.metadata) validate_collection_metadata(*options.metadata, "create_collection");
    // Replayed as get_or_create so that applying it twice is harmless.
    return write_entry(collection, wal::op_kind::create_collection,
                       chroma::encode_create_collection(collection, options, true));
}

write_receipt replicated_client::write_delete_collection(const std::string& collection) {
    return write_entry(collection, wal::op_kind::delete_collection, std::string());
}

write_receipt replicated_client::write_modify(const std::string& collection, const modify_options& changes) {
    if (changes.name) validate_collection_name(*changes.name);
    if (changes.metadata) validate_collection_metadata(*changes.metadata, "modify");
    return write_entry(collection, wal::op_kind::modify_collection, chroma::encode_modify(changes));
}

write_receipt replicated_client::write_entry(const std::string& collection, wal::op_kind op, std::string payload) {
    wal::new_entry ne;
    ne.lane = key_for(collection);
    ne.idempotency_id = new_entry_id();
    ne.op = op;
    ne.payload = std::move(payload);
    const auto where = store_->append({ne});  // throws log_unavailable: nothing logged, nothing applied

    wal::entry fresh;
    fresh.lane_id = where.at(0).lane_id;
    fresh.position = where.at(0).position;
    fresh.idempotency_id = ne.idempotency_id;
    fresh.op = op;
    fresh.payload = std::move(ne.payload);
    fresh.created_at = now_epoch();

    write_receipt receipt;
    receipt.position = fresh.position;
    receipt.entry_id = fresh.idempotency_id;

    // Apply to every healthy instance in parallel (the first on this thread).
    std::vector<instance_state*> targets;
    for (auto& i : instances_) {
        if (i->healthy()) targets.push_back(i.get());
    }
    std::vector<apply_result> results(targets.size());
    std::vector<std::future<apply_result>> others;
    const auto started = clock::now();
    auto deadline_for = [started](instance_state* i) { return started + i->conn().options.request_timeout; };
    for (std::size_t k = 1; k < targets.size(); ++k) {
        others.push_back(
            std::async(std::launch::async, [this, &fresh, &ne, inst = targets[k], d = deadline_for(targets[k])] {
                return apply_through(*inst, fresh.lane_id, ne.lane, fresh.position, &fresh, true, d);
            }));
    }
    if (!targets.empty()) {
        results[0] =
            apply_through(*targets[0], fresh.lane_id, ne.lane, fresh.position, &fresh, true, deadline_for(targets[0]));
    }
    for (std::size_t k = 1; k < targets.size(); ++k) results[k] = others[k - 1].get();

    const apply_result* rejection = nullptr;
    bool behind = targets.size() < instances_.size();
    for (std::size_t k = 0; k < targets.size(); ++k) {
        if (results[k].outcome == apply_outcome::applied) {
            receipt.applied.push_back(targets[k]->name());
        } else {
            behind = true;
            if (results[k].outcome == apply_outcome::rejected && !rejection) rejection = &results[k];
        }
    }
    if (behind) wake_sync();

    const std::string what = fmt::format("{} on collection '{}'", wal::to_string(op), collection);
    if (receipt.applied.empty()) {
        if (rejection) {
            // Every instance that answered said the request is invalid: it never will be valid.
            store_->set_state(fresh.lane_id, fresh.position, wal::entry_state::rejected, rejection->error);
            wake_sync();  // lets lagging instances step over it
            if (rejection->status == 404)
                throw not_found(rejection->status, rejection->error_name, rejection->server_message, what);
            throw write_rejected(rejection->status, rejection->error_name, rejection->server_message, what);
        }
        if (config_.queue_when_unavailable) {
            receipt.queued = true;
            note_written(collection, fresh.lane_id, fresh.position);
            return receipt;
        }
        bool abandoned = false;
        try {
            abandoned = store_->abandon_if_unapplied(fresh.lane_id, fresh.position, instance_names_);
        } catch (const log_unavailable& e) {
            // The entry is committed and could not be marked abandoned: it stays pending, and the
            // sync thread applies it once the log and an instance are back. Never log_unavailable
            // here: that would tell the caller nothing was logged.
            throw no_instance_available(fmt::format("{}: no instance could apply it, and the log store went away "
                                                    "({}); the log entry at position {} stays pending and will be "
                                                    "applied on recovery",
                                                    what, e.what(), fresh.position),
                                        true, fresh.position);
        }
        if (abandoned) {
            std::string why;
            for (const auto& r : results) why += (why.empty() ? "" : "; ") + r.error;
            if (why.empty()) why = "every instance is marked down";
            throw no_instance_available(fmt::format("{}: no instance could apply it ({}); the log entry at position {} "
                                                    "is abandoned and will not be applied",
                                                    what, why, fresh.position),
                                        false, fresh.position);
        }
        // Someone (another process's sync) applied it in the meantime: it stands.
    }
    note_written(collection, fresh.lane_id, fresh.position);
    if (receipt.applied.size() < config_.write_quorum) {
        throw quorum_not_reached(fmt::format("{}: applied to {} of the {} instances the write quorum asks for; the log "
                                             "entry at position {} stays pending and will be applied on recovery",
                                             what, receipt.applied.size(), config_.write_quorum, fresh.position),
                                 fresh.position, receipt.applied.size());
    }
    return receipt;
}

// Brings `inst` up to `target` in one lane, holding the lane lock (in-process and in the log).
apply_result replicated_client::apply_through(instance_state& inst, std::int64_t lane_id, const wal::lane_key& key,
                                              std::int64_t target, const wal::entry* fresh, bool live,
                                              clock::time_point deadline) {
    apply_result result;
    // A live write may trust what this process knows was applied; the sync thread works from the
    // log, which may lag that knowledge (an advance() that failed), and must record it.
    if (live && inst.known_applied(lane_id) >= target) {
        result.outcome = apply_outcome::applied;
        return result;
    }
    const auto wait = deadline == clock::time_point::max()
                          ? inst.conn().options.request_timeout
                          : std::max(std::chrono::milliseconds(1),
                                     std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()));
    auto mutex = inst.lane_mutex(lane_id);
    std::unique_lock<std::timed_mutex> local(*mutex, std::defer_lock);
    if (!local.try_lock_for(wait)) {
        result.outcome = apply_outcome::busy;
        result.error = fmt::format("{}: lane busy", inst.name());
        return result;
    }
    if (live && inst.known_applied(lane_id) >= target) {
        result.outcome = apply_outcome::applied;
        return result;
    }
    std::unique_ptr<wal::lane_lock> lock;
    try {
        lock = store_->lock_lane(inst.name(), lane_id, wait);
    } catch (const log_unavailable& e) {
        result.error = e.what();
        return result;
    }
    if (!lock) {
        result.outcome = apply_outcome::busy;
        result.error = fmt::format("{}: lane locked by another process", inst.name());
        return result;
    }
    try {
        std::int64_t applied = lock->applied();
        if (const std::int64_t known = inst.known_applied(lane_id); known > applied) {
            // Recorded late: this process applied up to `known` but could not record it then.
            lock->advance(known);
            applied = known;
        }
        inst.set_known_applied(lane_id, applied);
        if (applied < lock->pruned_through()) {
            // Entries it never applied are gone: replaying the rest would build on a wrong base.
            inst.set_needs_repair(key.collection, true);
            result.outcome = apply_outcome::needs_repair;
            result.error = fmt::format(
                "{}: missed entries of collection '{}' that retention pruned (up to position "
                "{}); it needs a repair",
                inst.name(), key.collection, lock->pruned_through());
            return result;
        }
        if (live && target - applied > live_catch_up_limit) {
            result.outcome = apply_outcome::behind;
            result.error = fmt::format("{}: {} entries behind; left to the sync thread", inst.name(), target - applied);
            return result;
        }
        while (applied < target) {
            std::vector<wal::entry> batch;
            if (fresh && applied == fresh->position - 1) {
                batch.push_back(*fresh);
            } else {
                batch = lock->read(read_batch_entries, read_batch_bytes);
            }
            if (batch.empty()) break;
            std::size_t done = 0;
            while (done < batch.size() && batch[done].position <= target) {
                std::vector<wal::entry> rest(batch.begin() + static_cast<std::ptrdiff_t>(done), batch.end());
                std::size_t used;
                const auto started = clock::now();
                try {
                    used = apply_front(inst, key, rest, deadline);
                } catch (const server_rejected& e) {
                    if (!is_invalid_request(e) && e.status() != 404) throw;
                    const wal::entry& bad = rest.front();
                    if (live) {
                        // The caller decides (rejected only if no instance applied it).
                        result.outcome = apply_outcome::rejected;
                        result.error = e.what();
                        result.status = e.status();
                        result.error_name = e.error_name();
                        result.server_message = e.server_message();
                        return result;
                    }
                    const int attempts = store_->record_failure(bad.lane_id, bad.position, e.what());
                    if (attempts < config_.max_attempts) throw;
                    // Keeps failing here: step over it, visibly, instead of blocking the lane.
                    store_->add_dead_letter(inst.name(), bad.lane_id, bad.position, e.what());
                    store_->set_state(bad.lane_id, bad.position, wal::entry_state::dead, e.what());
                    emit(event::kind::entry_dead_lettered, inst.name(),
                         fmt::format("entry {} of '{}' dead-lettered after {} attempts: {}", bad.position,
                                     key.collection, attempts, e.what()));
                    used = 1;
                }
                inst.report_success(std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - started),
                                    false);
                const std::int64_t last = rest[used - 1].position;
                try {
                    lock->advance(last);  // durable before the next request: at most one request re-applied
                } catch (const log_unavailable& e) {
                    // The instance did apply the request; only its record is missing, so it will be
                    // re-applied once (harmless). Stop here: a second unrecorded request would not be.
                    // The sync thread records it later (see "recorded late" above).
                    inst.set_known_applied(lane_id, last);
                    result.outcome = last >= target ? apply_outcome::applied : apply_outcome::failed;
                    result.error = e.what();
                    return result;
                }
                applied = last;
                inst.set_known_applied(lane_id, applied);
                done += used;
            }
            if (batch.back().position >= target || applied >= target) break;
        }
        result.outcome = applied >= target ? apply_outcome::applied : apply_outcome::failed;
        return result;
    } catch (const log_unavailable& e) {
        result.error = e.what();
        return result;
    } catch (const server_rejected& e) {
        result.error = e.what();
        result.status = e.status();
        return result;
    } catch (const error& e) {
        // Transport errors and 5xx: the instance is unwell.
        result.error = e.what();
        if (inst.report_failure(e.what())) emit(event::kind::instance_down, inst.name(), e.what());
        return result;
    }
}

std::size_t replicated_client::apply_front(instance_state& inst, const wal::lane_key& key,
                                           const std::vector<wal::entry>& batch, clock::time_point deadline) {
    // Entries that are never applied are stepped over.
    if (skipped_state(batch.front().state)) return 1;
    const wal::entry& first = batch.front();
    if (!is_record_op(first.op)) {
        apply_single(inst, key, first, deadline);
        return 1;
    }
    // Merge following entries of the same operation with disjoint ids into one request; the
    // request never holds two operations on one id, so re-applying it is harmless.
    const preflight_info pf = inst.conn().get_preflight();
    const std::size_t max_records = pf.max_batch_size ? pf.max_batch_size : 1000;
    std::vector<wal::records_payload> parts;
    parts.push_back(wal::decode_records(first.payload));
    std::size_t records = parts.back().ids.size();
    std::size_t used = 1;
    while (used < batch.size() && batch[used].op == first.op && !skipped_state(batch[used].state)) {
        wal::records_payload next = wal::decode_records(batch[used].payload);
        if (records + next.ids.size() > max_records) break;
        bool ok = true;
        for (const auto& p : parts) ok = ok && wal::can_merge(p, next);
        if (!ok) break;
        records += next.ids.size();
        parts.push_back(std::move(next));
        ++used;
    }
    // A single entry larger than this server's batch size goes in several requests; its ids are
    // distinct, so re-applying a prefix of them is harmless too.
    std::vector<wal::records_payload> chunks;
    if (parts.size() == 1 && records > max_records) chunks = wal::split_records(parts.front(), max_records);
    const bool base64 = inst.conn().options.use_base64 && pf.supports_base64_encoding;
    auto send = [&](const std::vector<const wal::records_payload*>& ptrs) {
        std::string body;
        wal::write_records_body(body, ptrs, base64);
        const std::string what =
            fmt::format("{} to collection '{}' on {}", route(first.op), key.collection, inst.name());
        for (int attempt = 0;; ++attempt) {
            chroma_collection c = inst.resolve(key.collection);
            try {
                inst.conn().call(method::post, inst.conn().collection_url(c.id()) + "/" + route(first.op), body, what,
                                 remaining(deadline, what));
                return;
            } catch (const not_found&) {
                inst.forget(key.collection);  // the UUID may be stale (deleted and re-created)
                if (attempt > 0) throw;
            }
        }
    };
    if (!chunks.empty()) {
        for (const auto& c : chunks) send({&c});
    } else {
        std::vector<const wal::records_payload*> ptrs;
        for (const auto& p : parts) ptrs.push_back(&p);
        send(ptrs);
    }
    return used;
}

void replicated_client::apply_single(instance_state& inst, const wal::lane_key& key, const wal::entry& e,
                                     clock::time_point deadline) {
    chroma_connection& conn = inst.conn();
    const std::string what =
        fmt::format("{} of collection '{}' on {}", wal::to_string(e.op), key.collection, inst.name());
    switch (e.op) {
        case wal::op_kind::create_collection: {
            auto r = conn.call(method::post, conn.collections_base, e.payload, what, remaining(deadline, what));
            inst.remember(chroma_connection::decode([&] { return chroma::decode_collection(r.body); }, what));
            return;
        }
        case wal::op_kind::delete_collection:
            inst.forget(key.collection);
            try {
                conn.call(method::del, conn.collection_url(key.collection), {}, what, remaining(deadline, what));
            } catch (const not_found&) {
                // Already gone: deleting is idempotent.
            }
            return;
        case wal::op_kind::modify_collection:
        case wal::op_kind::delete_records: {
            for (int attempt = 0;; ++attempt) {
                std::string id;
                try {
                    id = inst.resolve(key.collection).id();
                } catch (const not_found&) {
                    if (e.op != wal::op_kind::modify_collection) throw;
                    // Re-applied rename: the collection already carries its new name.
                    if (const auto new_name = chroma::decode_modify_new_name(e.payload)) {
                        (void)inst.resolve(*new_name);
                        return;
                    }
                    throw;
                }
                try {
                    if (e.op == wal::op_kind::modify_collection) {
                        conn.call(method::put, conn.collection_url(id), e.payload, what, remaining(deadline, what));
                        inst.forget(key.collection);
                    } else {
                        conn.call(method::post, conn.collection_url(id) + "/delete", e.payload, what,
                                  remaining(deadline, what));
                    }
                    return;
                } catch (const not_found&) {
                    inst.forget(key.collection);
                    if (attempt > 0) throw;
                }
            }
        }
        default:
            throw error(fmt::format("{}: unexpected operation in the log", what));
    }
}

// ---------------------------------------------------------------------------------------------
// Sync thread and health monitor

void replicated_client::wake_sync() {
    {
        std::lock_guard<std::mutex> lock(sync_mutex_);
        sync_wake_ = true;
    }
    sync_cv_.notify_one();
}

void replicated_client::sync_loop() {
    while (!stopping_) {
        {
            std::unique_lock<std::mutex> lock(sync_mutex_);
            sync_cv_.wait_for(lock, config_.sync_interval, [this] { return sync_wake_ || stopping_.load(); });
            sync_wake_ = false;
        }
        if (stopping_) break;
        try {
            sync_pass();
        } catch (const std::exception&) {
            // The log store is away: try again on the next wake-up.
        }
        if (stopping_) break;
        maybe_prune();
    }
}

void replicated_client::sync_pass() {
    std::lock_guard<std::mutex> pass(pass_mutex_);
    bool all_caught_up = true;
    std::int64_t backlog = 0;
    std::vector<std::string> healthy;
    for (auto& inst_ptr : instances_) {
        instance_state& inst = *inst_ptr;
        if (stopping_) return;
        if (!inst.healthy()) continue;
        healthy.push_back(inst.name());
        if (!inst.may_sync_now(clock::now())) {
            all_caught_up = false;
            continue;
        }
        std::vector<wal::lane_progress> lanes = store_->lanes_behind(inst.name());
        std::set<std::string> unrepaired;
        for (const auto& lane : lanes) {
            if (lane.needs_repair() && lane.key.tenant == config_.tenant && lane.key.database == config_.database)
                unrepaired.insert(lane.key.collection);
        }
        inst.set_needs_repair(unrepaired);
        bool failed = false;
        for (const auto& lane : lanes) {
            if (stopping_) return;
            backlog += lane.head - lane.applied;
            // Left for repair() (status says so). It does not stop the other lanes from being
            // marked applied: mark_applied goes by each lane's lowest position.
            if (lane.needs_repair()) continue;
            auto r = apply_through(inst, lane.lane_id, lane.key, lane.head, nullptr, false);
            if (r.outcome == apply_outcome::needs_repair) continue;
            if (r.outcome == apply_outcome::busy) {
                all_caught_up = false;
                continue;
            }
            if (r.outcome != apply_outcome::applied) {
                failed = true;
                break;
            }
        }
        if (failed) {
            all_caught_up = false;
            inst.sync_failed(clock::now());
        } else {
            inst.sync_succeeded();
        }
    }
    if (backlog > config_.backlog_alert_threshold && backlog_alerted_.exchange(backlog) == 0) {
        emit(event::kind::backlog_over_threshold, {}, fmt::format("{} entries waiting to be applied", backlog));
    } else if (backlog <= config_.backlog_alert_threshold) {
        backlog_alerted_ = 0;
    }
    // "Applied everywhere" means on every instance that is healthy now: an instance that is
    // away does not hold the log back for ever. It replays what it missed when it returns,
    // unless retention pruned those entries first; then it needs a repair.
    if (all_caught_up && !healthy.empty()) store_->mark_applied(healthy);
}

void replicated_client::health_loop(std::size_t index) {
    instance_state& inst = *instances_[index];
    while (!stopping_) {
        const auto started = clock::now();
        try {
            inst.client().heartbeat();
            const auto latency = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - started);
            if (inst.report_success(latency, true)) {
                emit(event::kind::instance_up, inst.name(), "heartbeat answered again");
                wake_sync();  // catch it up now, not at the next interval
            }
        } catch (const std::exception& e) {
            if (inst.report_failure(e.what())) emit(event::kind::instance_down, inst.name(), e.what());
        }
        // A down instance is probed more often, so that its return is noticed (and the sync
        // thread woken) within a fraction of a second.
        const auto period = inst.healthy() ? config_.health_interval
                                           : std::min<std::chrono::milliseconds>(config_.health_interval,
                                                                                 std::chrono::milliseconds(200));
        std::unique_lock<std::mutex> lock(health_sleep_mutex_);
        health_cv_.wait_until(lock, started + period, [this] { return stopping_.load(); });
    }
}

bool replicated_client::wait_until_synced(std::chrono::milliseconds timeout) {
    const auto deadline = clock::now() + timeout;
    while (true) {
        bool synced = true;
        try {
            for (auto& inst : instances_) {
                if (!inst->healthy() || !store_->lanes_behind(inst->name()).empty()) synced = false;
            }
        } catch (const log_unavailable&) {
            synced = false;
        }
        if (synced) {
            // Every instance has everything: say so in the log too, so that status() shows no
            // pending entries even without a background sync pass.
            try {
                store_->mark_applied(instance_names_);
            } catch (const log_unavailable&) {
            }
            return true;
        }
        if (clock::now() >= deadline) return false;
        if (config_.background_threads) {
            wake_sync();
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        } else {
            try {
                sync_pass();
            } catch (const log_unavailable&) {
            }
        }
    }
}

std::size_t replicated_client::replay_dead_letters() {
    std::size_t ok = 0;
    for (const auto& d : store_->dead_letters(1000)) {
        auto it =
            std::find_if(instances_.begin(), instances_.end(), [&](const auto& i) { return i->name() == d.instance; });
        if (it == instances_.end()) continue;
        auto e = store_->read_entry(d.lane_id, d.position);
        if (!e) continue;
        try {
            std::vector<wal::entry> one{*e};
            one.front().state = wal::entry_state::pending;
            apply_front(**it, d.key, one, clock::time_point::max());
            store_->remove_dead_letter(d.instance, d.lane_id, d.position);
            ++ok;
        } catch (const error&) {
        }
    }
    return ok;
}

// ---------------------------------------------------------------------------------------------
// Reads

std::vector<instance_state*> replicated_client::read_order() {
    std::vector<instance_state*> primaries, replicas;
    for (auto& i : instances_) {
        if (!i->healthy()) continue;
        (i->primary() ? primaries : replicas).push_back(i.get());
    }
    thread_local std::mt19937 rng{std::random_device{}()};
    std::shuffle(replicas.begin(), replicas.end(), rng);
    std::vector<instance_state*> out;
    switch (config_.read_policy) {
        case read_policy::primary_only:
            return primaries;
        case read_policy::primary_preferred:
            out = primaries;
            out.insert(out.end(), replicas.begin(), replicas.end());
            return out;
        case read_policy::replica_ratio: {
            std::uniform_real_distribution<double> u(0.0, 1.0);
            if (u(rng) < config_.replica_read_ratio) {
                out = replicas;
                out.insert(out.end(), primaries.begin(), primaries.end());
            } else {
                out = primaries;
                out.insert(out.end(), replicas.begin(), replicas.end());
            }
            return out;
        }
        case read_policy::nearest: {
            out = primaries;
            out.insert(out.end(), replicas.begin(), replicas.end());
            std::stable_sort(out.begin(), out.end(), [](instance_state* a, instance_state* b) {
                return a->health().latency_ms < b->health().latency_ms;
            });
            return out;
        }
    }
    return out;
}

void replicated_client::read(const std::string& collection, read_options options,
                             const std::function<void(chroma_collection&)>& f) {
    std::int64_t lane_id = 0, needed = 0;
    {
        std::lock_guard<std::mutex> lock(written_mutex_);
        auto it = last_written_.find(collection);
        if (it != last_written_.end()) std::tie(lane_id, needed) = it->second;
    }
    auto candidates = read_order();
    if (candidates.empty()) {
        throw no_instance_available(fmt::format("read of collection '{}': no healthy instance", collection), false, 0);
    }
    if (!options.allow_stale) {
        // An instance that missed pruned entries of this collection holds an unknown state.
        std::vector<instance_state*> repaired;
        for (auto* i : candidates) {
            if (!i->needs_repair(collection)) repaired.push_back(i);
        }
        if (repaired.empty()) {
            throw no_instance_available(
                fmt::format("read of collection '{}': every healthy instance needs a repair of it (see status); "
                            "pass read_options{{true}} for a stale read",
                            collection),
                false, 0);
        }
        candidates = std::move(repaired);
    }
    std::vector<instance_state*> usable;
    if (!options.allow_stale && needed > 0) {
        for (auto* i : candidates) {
            if (i->known_applied(lane_id) < needed) {
                // Another process may have applied it: ask the log once.
                try {
                    for (const auto& l : store_->all_lanes(i->name())) {
                        if (l.lane_id == lane_id) i->set_known_applied(lane_id, l.applied);
                    }
                } catch (const log_unavailable&) {
                }
            }
            if (i->known_applied(lane_id) >= needed) usable.push_back(i);
        }
        if (usable.empty()) {
            throw no_instance_available(
                fmt::format("read of collection '{}': no healthy instance has applied this client's last write "
                            "(position {}) yet; retry, or pass read_options{{true}} for a stale read",
                            collection, needed),
                true, needed);
        }
    } else {
        usable = candidates;
    }
    std::exception_ptr last;
    for (auto* inst : usable) {
        for (int attempt = 0; attempt < 2; ++attempt) {
            const auto started = clock::now();
            try {
                chroma_collection c = inst->resolve(collection);
                f(c);
                inst->report_success(std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - started),
                                     false);
                return;
            } catch (const not_found&) {
                inst->forget(collection);
                if (attempt > 0) throw;  // re-resolved and still missing: it does not exist
            } catch (const server_rejected&) {
                throw;  // the request itself is wrong: another instance would say the same
            } catch (const error& e) {
                if (inst->report_failure(e.what())) emit(event::kind::instance_down, inst->name(), e.what());
                last = std::current_exception();
                break;  // fail over to the next instance
            }
        }
    }
    std::rethrow_exception(last);
}

std::vector<std::string> replicated_client::list_collections(std::optional<std::size_t> limit, std::size_t offset) {
    std::exception_ptr last;
    for (auto* inst : read_order()) {
        try {
            std::vector<std::string> names;
            for (const auto& c : inst->client().list_collections(limit, offset)) names.push_back(c.name());
            return names;
        } catch (const error&) {
            last = std::current_exception();
        }
    }
    if (last) std::rethrow_exception(last);
    throw no_instance_available("list collections: no healthy instance", false, 0);
}

bool replicated_client::collection_exists(const std::string& name) {
    try {
        read(name, read_options{true}, [](chroma_collection&) {});
        return true;
    } catch (const not_found&) {
        return false;
    }
}

// ---------------------------------------------------------------------------------------------
// Status

chromawal::status replicated_client::status() {
    chromawal::status s;
    s.sync_running = sync_running_.load();
    const double now = now_epoch();
    try {
        const wal::log_counts c = store_->counts();
        s.log.pending = c.pending;
        s.log.applied = c.applied;
        s.log.rejected = c.rejected;
        s.log.abandoned = c.abandoned;
        s.log.dead = c.dead;
        s.log.oldest_pending_age_seconds =
            c.oldest_pending_created_at > 0 ? std::max(0.0, now - c.oldest_pending_created_at) : 0;
    } catch (const log_unavailable& e) {
        s.log.reachable = false;
        s.log.error = e.what();
    }
    for (auto& inst : instances_) {
        instance_status is;
        is.name = inst->name();
        is.url = inst->display_url();
        is.primary = inst->primary();
        const auto h = inst->health();
        is.healthy = h.healthy;
        is.last_error = h.last_error;
        is.success_rate = h.success_rate;
        is.latency_ms = h.latency_ms;
        if (s.log.reachable) {
            try {
                double oldest = 0;
                for (const auto& l : store_->all_lanes(inst->name())) {
                    if (l.needs_repair()) is.needs_repair = true;
                    is.applied += l.applied;
                    is.lag_entries += std::max<std::int64_t>(0, l.head - l.applied);
                    if (l.head > l.applied && l.oldest_unapplied_created_at > 0 &&
                        (oldest == 0 || l.oldest_unapplied_created_at < oldest)) {
                        oldest = l.oldest_unapplied_created_at;
                    }
                }
                is.lag_seconds = oldest > 0 ? std::max(0.0, now - oldest) : 0;
            } catch (const log_unavailable&) {
            }
        }
        s.instances.push_back(std::move(is));
    }
    return s;
}

}  // namespace chromawal::detail
