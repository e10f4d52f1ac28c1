#pragma once
/// @file
/// The replicated client: two or more Chroma servers used as one, through a write-ahead log
/// in PostgreSQL.
///
/// Every write is validated, appended durably to the log, then applied to every healthy
/// instance in parallel; instances that missed it are caught up, in log order and exactly
/// once, by an in-process sync thread. Reads go to a healthy instance chosen by the read
/// policy, never to one that has not applied this client's last write to that collection
/// (read-your-writes), unless a stale read is asked for.

#include <chromawal/chroma_client.hpp>
#include <chromawal/error.hpp>
#include <chromawal/export.hpp>
#include <chromawal/filter.hpp>
#include <chromawal/options.hpp>
#include <chromawal/types.hpp>
#include <chromawal/verify.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chromawal {

namespace detail {
class replicated_client;
}

/// Whether an instance is the primary (preferred for reads) or a replica.
enum class instance_role { primary, replica };

/// One Chroma server of the set.
struct instance_config {
    /// A stable, unique name: the log keys each instance's progress by it.
    std::string name;
    /// URL, headers (auth), timeouts, TLS. Its tenant and database are overridden by the
    /// client_config's, so that every instance holds the same collections.
    connection_options connection;
    instance_role role = instance_role::replica;
};

/// Where reads go (always among healthy instances that have this client's last write).
enum class read_mode {
    primary_only,       ///< only the primary; fails when it is down
    primary_preferred,  ///< the primary when usable, otherwise a replica (the default)
    replica_ratio,      ///< a replica with probability replica_read_ratio, otherwise the primary
    nearest,            ///< the lowest recent latency
};

/// The name of a read policy, as settings and status spell it ("primary_preferred").
CHROMAWAL_API const char* to_string(read_mode p) noexcept;

/// One setting of client_config that can be given as text (see client_config::settings()).
struct setting_info {
    const char* name;           ///< for client_config::set(), the command's --flag (with '-' for '_'), Python
    const char* env;            ///< the environment variable
    const char* value_name;     ///< what the value looks like, for help text ("N", "DURATION")
    const char* help;           ///< one line
    const char* default_value;  ///< as text; empty when none
    bool secret;                ///< never printed
    bool repeatable;            ///< every value given counts (auth_header); otherwise the last wins
};

/// An event for alerting (see client_config::on_event). Each is emitted once per transition
/// (a state that persists is not repeated), so a hook may page on every event.
struct event {
    enum class kind {
        instance_down,           ///< an instance was marked down (failures reached down_after_failures)
        instance_up,             ///< it was marked up again
        entry_dead_lettered,     ///< an instance kept failing an entry and stepped over it (per entry)
        backlog_over_threshold,  ///< entries behind, summed over every instance (down ones too), went over
                                 ///< backlog_alert_threshold; again only after it fell to half of it
        log_unavailable,         ///< the log store became unreachable (or was at start: degraded start)
        log_recovered,           ///< it is reachable again (schema checked); writes work again
        instance_needs_repair,   ///< an instance missed pruned entries of a collection (per collection)
        write_abandoned,         ///< a write reached no instance and was abandoned; again only after a
                                 ///< write was applied somewhere
        quorum_not_reached,      ///< a write was applied to fewer than write_quorum instances; again only
                                 ///< after a write reached the quorum
        log_conflict,            ///< an instance is recorded for another log: writes are refused (per check
                                 ///< that finds it so; see take_over_instances)
        instances_taken_over,    ///< take_over_instances recorded this log on the instances (per instance)
        log_default,             ///< once at start: no log was configured, so the embedded SQLite log in
                                 ///< the user's state directory is used (the message names the file)
    };
    event::kind type = event::kind::instance_down;
    std::string instance;  ///< empty for log-wide events
    std::string message;
};

/// The name of an event kind, as the Python binding spells it ("log_unavailable").
CHROMAWAL_API const char* to_string(event::kind k) noexcept;

/// Everything the replicated client needs. Plain value with documented defaults.
struct CHROMAWAL_API client_config {
    std::vector<instance_config> instances;
    /// The log: "sqlite:///abs/path.db" or "sqlite:relative/path.db" (an SQLite file: writers on
    /// one host), or a PostgreSQL libpq conninfo ("host=... dbname=...") or URI
    /// ("postgresql://user@host/db") for writers on several hosts. Empty: CHROMAWAL_LOG_URL;
    /// when that is unset too, libpq's PG* variables if any is set, else the embedded default, an
    /// SQLite file in $XDG_STATE_HOME/chromawal/ (or ~/.local/state/chromawal/) named after the
    /// instance set (event::kind::log_default says so). Never logged or stored.
    std::string log_url;
    /// PostgreSQL schema holding the log's tables (created and migrated automatically). Not
    /// used by an SQLite log (one file holds one log).
    std::string log_schema = "chromawal";
    std::string tenant = "default_tenant";
    std::string database = "default_database";
    /// A write returns once applied to this many instances (at least 1).
    std::size_t write_quorum = 1;
    /// false (default): a write waits for every healthy instance (within the request timeout),
    /// so its receipt names every instance that has it. true: it returns as soon as
    /// write_quorum instances applied it; the others finish in the background, in log order
    /// (then the sync thread), so one slow instance no longer sets every write's latency. The
    /// receipt lists only the instances that had applied it when the call returned, and reads
    /// of this client avoid the others until they have it. See docs/design.md.
    bool ack_after_quorum = false;
    /// Writes of one collection in flight at once (submitted and not yet answered), at least 1:
    /// the window of the asynchronous writes (collection::add_async and the others), which wait
    /// while it is full. Concurrent small writes to one collection (from several threads, or
    /// in flight together) are appended to the log together and merged into one request per
    /// instance (docs/design.md, "Group apply").
    std::size_t max_in_flight_writes = 8;
    read_mode read_policy = read_mode::primary_preferred;
    /// For read_mode::replica_ratio: the share of reads sent to replicas (0..1).
    double replica_read_ratio = 0.8;
    /// When the sync thread wakes up even if nothing told it to.
    std::chrono::milliseconds sync_interval{500};
    /// Heartbeat period of the health monitor.
    std::chrono::milliseconds health_interval{1000};
    /// Consecutive failures (heartbeats or real requests) that mark an instance down.
    int down_after_failures = 2;
    /// Consecutive successful heartbeats that mark it up again (and no sooner than
    /// min_down_time after it went down).
    int up_after_successes = 3;
    /// The least time an instance stays marked down. Doubled each time it goes down again
    /// within a minute of coming back (a flapping instance), up to 32 times; back to this after
    /// a minute up. Zero: no floor (up_after_successes alone decides).
    std::chrono::milliseconds min_down_time{1000};
    /// Attempts at one entry on one instance before it is dead-lettered there. A failing entry
    /// (the instance answers it with an error) holds up only its collection on that instance,
    /// retried with backoff; the instance's other collections go on replicating.
    int max_attempts = 8;
    /// Keep a write that no instance could apply pending (applied on recovery) instead of
    /// abandoning it with an error.
    bool queue_when_unavailable = false;
    /// Entries applied everywhere (on every instance that was healthy; see docs/design.md) are
    /// pruned after this age. An instance away longer than this is caught up by repair().
    std::chrono::seconds retention{std::chrono::hours(24 * 7)};
    /// How often the sync thread applies retention (at most once per interval, the first time
    /// on its first pass); zero: only when client::prune() is called.
    std::chrono::milliseconds prune_interval{std::chrono::minutes(5)};
    /// Record every advance of an instance's applied position, in the same transaction, for
    /// client::apply_history() (tests and audits; costs one row per applied request).
    bool record_apply_history = false;
    /// Run the sync thread and health monitor (off only for tools and tests that drive
    /// sync_now() themselves).
    bool background_threads = true;
    /// Called on every event (see event::kind), from the thread that saw the transition: a
    /// background thread, a writer's thread, or the constructor's (log_unavailable at a
    /// degraded start). Must not block for long; an exception from it is ignored.
    std::function<void(const event&)> on_event;
    /// Backlog (entries behind, summed over every instance, down ones included) that triggers
    /// backlog_over_threshold.
    std::int64_t backlog_alert_threshold = 10000;
    /// Where the in-process metrics listener accepts connections ("127.0.0.1:9464"; port 0
    /// picks a free port, see client::metrics_address()); empty (default): no listener. It
    /// serves GET /metrics (Prometheus text), /health (200 or 503) and /status (the status
    /// JSON), without authentication: bind it to a loopback or private address. See
    /// docs/operations.md.
    std::string metrics_address;
    /// An http(s) URL that every event (see on_event) is POSTed to as JSON with a
    /// Slack-compatible "text" field, from a background queue (bounded; a slow or dead webhook
    /// never delays a write), retried with backoff, identical events within a minute sent
    /// once. A secret (Slack's URL is its credential): never logged, printed or stored.
    /// Empty (default): no webhook.
    std::string alert_webhook_url;

    /// Every setting that can be given as text, once: its name (for set() and from_settings(),
    /// the command's --flags and the Python keywords), its environment variable, and help. The
    /// table is also in docs/configuration.md.
    static const std::vector<setting_info>& settings();

    /// Sets one setting from text, by its name in settings(). Durations take a unit (500ms, 90s,
    /// 15m, 24h, 7d) or are a number in the unit the variable's name says; booleans are
    /// true/false/1/0/yes/no/on/off. `request_timeout` and `auth_header` apply to every
    /// instance configured so far (set `instances` first).
    /// @throws invalid_argument naming the setting and what was expected (a secret value is
    ///         never repeated); the configuration is then unchanged except for this setting.
    void set(std::string_view name, std::string_view value);

    /// A configuration from named settings (names as in settings()), applied in the table's
    /// order whatever their order here (instances first); for a name given twice, the last
    /// value wins, except for a repeatable setting (auth_header: each value adds a header). A `replica_read_ratio`
    /// without a `read_policy` selects replica_ratio.
    /// @throws invalid_argument naming the setting.
    static client_config from_settings(const std::vector<std::pair<std::string, std::string>>& values);

    /// The settings given by CHROMAWAL_* environment variables (those set and not empty), as
    /// (name, value) pairs for from_settings(): the one place chromawal reads the environment.
    static std::vector<std::pair<std::string, std::string>> environment();

    /// from_settings(environment()), requiring CHROMAWAL_INSTANCES ("name=url,name=url"; the
    /// first is the primary). Each variable is listed in settings() and docs/configuration.md.
    /// @throws invalid_argument naming the variable that is wrong.
    static client_config from_env();

    /// Checks every rule the client checks at construction, without constructing one.
    /// @throws invalid_argument naming the setting that is wrong.
    void validate() const;

    /// The secrets this configuration holds (the log URL's password, instance URL passwords,
    /// every header value, the whole alert webhook URL), for chromawal::redact() of anything that might quote them.
    [[nodiscard]] std::vector<std::string> secrets() const;
};

/// What a write returns: where it is in the log and where it was applied.
struct write_receipt {
    std::int64_t position = 0;         ///< position in the collection's lane of the log
    std::string entry_id;              ///< the entry's idempotency id
    std::vector<std::string> applied;  ///< instances that applied it before the call returned
    bool queued = false;               ///< applied nowhere yet; pending for the sync thread
    /// A delete: how many records it deleted, Chroma's answer from the first instance (in
    /// configuration order) that applied it during the call (for an ids-only delete, Chroma
    /// counts the ids sent); 0 for a delete with a limit that matched nothing (nothing logged).
    /// Empty when no instance applied it during the call (queued, or already applied
    /// everywhere by then: a retry with an idempotency key), and for other writes.
    std::optional<std::size_t> deleted;
};

/// Options of one write.
struct write_options {
    /// Makes a retry safe. A write whose key is already in the log is not logged again: it
    /// returns the first write's receipt (applying that entry where it is still missing), or
    /// that write's failure (rejected, abandoned). The same key with a different write (another
    /// collection, operation or content) is refused with invalid_argument. Empty: a random id.
    /// Keys are global to the log and remembered while the entry is retained (see retention);
    /// 1 to 256 bytes of valid UTF-8 without NUL. Use one per logical write, e.g. a UUID or
    /// "<source>:<batch-id>".
    std::string idempotency_key;
};

/// Options of one read.
struct read_options {
    /// Allow an instance that has not applied this client's last write to the collection.
    bool allow_stale = false;
};

/// Health and progress of one instance.
struct instance_status {
    std::string name;
    std::string url;  ///< without credentials
    bool primary = false;
    bool healthy = false;
    std::string last_error;
    double success_rate = 1.0;  ///< over recent requests
    double latency_ms = 0;      ///< recent average
    std::int64_t applied = 0;   ///< entries applied (sum over lanes)
    std::int64_t lag_entries = 0;
    double lag_seconds = 0;  ///< age of the oldest entry it has not applied
    /// It missed entries that retention has already pruned: only verify-and-repair
    /// (client::repair) can bring it back to identical.
    bool needs_repair = false;
    /// Which log the instance is recorded for: "this" (this client's), "other" (another log:
    /// writes are refused, see log_conflict) or "unchecked" (not read yet, e.g. while down).
    std::string log_record = "unchecked";
    /// For "other": that log's id and description, as recorded on the instance.
    std::string other_log;
};

/// One dead-lettered entry: an instance kept failing it and stepped over it.
struct dead_letter_info {
    std::string instance;
    std::string collection_name;
    std::int64_t position = 0;
    std::string operation;
    std::string error_message;
    double age_seconds = 0;
};

/// What client::take_over_instances did to one instance.
struct takeover_step {
    std::string instance;
    /// The log the instance was recorded for before ("id (description)"); empty when it was
    /// recorded for none, or already for this client's log.
    std::string previous_log;
    bool changed = false;  ///< the record was written (false: it already named this log)
};

/// What client::replay_dead_letters did, one count per dead letter it found (of this client's
/// instances). replayed + failed + skipped is the number of dead letters it looked at.
struct replay_result {
    /// Applied again: no longer dead letters (an entry with no dead letter left is pending again).
    std::size_t replayed = 0;
    /// Failed again: still dead letters, with the new error (see client::dead_letters).
    std::size_t failed = 0;
    /// Not tried: another holder kept the lane lock of that instance and collection longer than
    /// the instance's request_timeout (a sync pass or a write applying that lane). Still dead
    /// letters, unchanged: replay again later.
    std::size_t skipped = 0;
    /// True when every dead letter it looked at was replayed.
    [[nodiscard]] bool complete() const noexcept { return failed == 0 && skipped == 0; }
};

/// What client::verify found.
struct verify_result {
    std::vector<verify_report> collections;
    [[nodiscard]] bool identical() const noexcept {
        for (const auto& c : collections) {
            if (!c.identical()) return false;
        }
        return true;
    }
};

struct verify_options {
    /// Collections to compare; empty means every collection on either instance.
    std::vector<std::string> collections;
    /// Called after each collection (for progress output on long runs).
    std::function<void(const verify_report& done, std::size_t index, std::size_t total)> progress;
};

/// One advance of an instance's applied position in a collection's lane (apply history).
struct apply_history_entry {
    std::int64_t from = 0;  ///< the applied position the applier started from
    std::int64_t to = 0;    ///< the applied position it recorded (from + 1 .. to were applied)
    bool skipped = false;   ///< moved past pruned entries by repair(), not applied
    double at = 0;          ///< seconds since the Unix epoch
};

/// What client::repair logged.
struct repair_result {
    std::vector<std::string> collections;  ///< collections that needed changes
    std::size_t upserted = 0;              ///< records copied from the source
    std::size_t deleted = 0;               ///< records removed from the target
    std::vector<write_receipt> receipts;
};

/// A count of outcomes (writes: `instance` empty; applies: per instance).
struct outcome_count {
    std::string instance;
    std::string outcome;
    std::uint64_t count = 0;
};

/// A latency histogram since the client started (Prometheus style: cumulative counts).
struct latency_histogram {
    std::string instance;                          ///< empty for the log's append latency
    std::vector<double> upper_bounds_seconds;      ///< increasing; +Inf is implied by `count`
    std::vector<std::uint64_t> cumulative_counts;  ///< one per bound: observations <= the bound
    std::uint64_t count = 0;
    double sum_seconds = 0;
};

/// What this client did since it started: counters and latencies read from atomics (never by
/// taking a lock that a writer takes).
struct process_metrics {
    std::vector<outcome_count> writes;     ///< by outcome (ok, queued, invalid, log_unavailable, ...)
    std::vector<outcome_count> applies;    ///< by instance and outcome (applied, failed, busy, ...)
    std::vector<outcome_count> alerts;     ///< webhook posts by outcome (sent, failed, dropped, duplicate)
    latency_histogram log_append;          ///< appending one write to the log
    std::vector<latency_histogram> apply;  ///< bringing one instance up to a write (per instance)
};

struct log_status {
    std::int64_t pending = 0, applied = 0, rejected = 0, abandoned = 0, dead = 0;
    double oldest_pending_age_seconds = 0;
    bool reachable = true;
    std::string error_message;
    std::string id;           ///< the log's id (empty while it could not be read)
    std::string description;  ///< where the log is (no password)
};

struct CHROMAWAL_API status_report {
    std::vector<instance_status> instances;
    log_status log;
    bool sync_running = false;
    /// Counters and latency histograms of this client (empty in a report built by hand).
    process_metrics metrics;
    /// The status as one JSON object (no secrets).
    [[nodiscard]] std::string to_json() const;
    /// The status in the Prometheus text exposition format 0.0.4, with HELP and TYPE for every
    /// family: the same text as the metrics listener's GET /metrics and `chromawal status
    /// --format prometheus` (the metrics are listed in docs/operations.md).
    [[nodiscard]] std::string to_prometheus() const;
};

/// A collection of the replicated set, by name. Cheap to copy: copies share the client's state
/// and the handle's name, so after modify() renamed the collection, every copy addresses it by
/// its new name.
///
/// Thread-safety: every method, modify() included, may be called concurrently on one handle
/// and its copies (the name is guarded; a call uses the name it read when it started).
/// Moved-from: a handle that was moved from may only be assigned to or destroyed.
/// Exceptions leave the handle usable; what they mean for the write is in each @throws.
class CHROMAWAL_API collection {
public:
    /// The collection's current name (a copy: another thread may rename it).
    [[nodiscard]] std::string name() const;
    /// The tenant and database it is in (those of the client when the handle was made).
    [[nodiscard]] const std::string& tenant() const noexcept;
    [[nodiscard]] const std::string& database() const noexcept;

    /// Validate, log, apply to every healthy instance.
    /// @throws invalid_argument (nothing logged), log_unavailable (nothing logged or applied),
    ///         outcome_unknown (the log went away while committing: retry with the same
    ///         idempotency key), write_rejected (logged, marked rejected),
    ///         no_instance_available, quorum_not_reached.
    write_receipt add(const record_set& records, const write_options& options = {}) const;
    write_receipt upsert(const record_set& records, const write_options& options = {}) const;
    write_receipt update(const record_set& records, const write_options& options = {}) const;
    /// With a `limit`, which matching records go is decided once, before logging: on the first
    /// healthy instance, after it has applied everything logged for the collection, and the
    /// delete is logged as a delete of those ids (filters kept), so every instance, and every
    /// replay, removes the same ones. When nothing matches, nothing is logged and the receipt's
    /// position is 0.
    /// The receipt's `deleted` is the first applying instance's count (see write_receipt).
    /// @throws as add(); invalid_argument without a selector; no_instance_available (nothing
    ///         logged) when a limited delete finds no up-to-date instance to choose on.
    write_receipt delete_records(const delete_options& selector, const write_options& options = {}) const;
    /// Asynchronous (pipelined) writes: the same write as add() and the others, returning at once
    /// with a future of its receipt, so that one thread keeps several writes in flight and
    /// every instance busy. The writes of one collection are logged and applied in call order
    /// (whichever thread calls), and a write's receipt means what add()'s does; get() rethrows
    /// the write's error (as add() would throw it). Reads see a write once its future is ready.
    /// Invalid input throws invalid_argument at the call (nothing logged). The call waits while
    /// the collection already has client_config::max_in_flight_writes writes in flight. A
    /// delete with a `limit` is done before the call returns (its records are chosen first).
    /// Destroying the client waits for the writes in flight.
    std::future<write_receipt> add_async(const record_set& records, const write_options& options = {}) const;
    std::future<write_receipt> upsert_async(const record_set& records, const write_options& options = {}) const;
    std::future<write_receipt> update_async(const record_set& records, const write_options& options = {}) const;
    std::future<write_receipt> delete_async(const delete_options& selector, const write_options& options = {}) const;
    /// Deletes every record whose metadata `key` equals `document_id` (all chunks of one
    /// document), logged as a where-delete so that each instance removes its own matches.
    write_receipt delete_document(std::string_view document_id, std::string_view key = "document_id") const;

    [[nodiscard]] get_result get(const get_options& options = {}, read_options read = {}) const;
    [[nodiscard]] query_result query(const query_options& options, read_options read = {}) const;
    [[nodiscard]] std::size_t count(read_options read = {}) const;
    [[nodiscard]] get_result peek(std::size_t limit = 10, read_options read = {}) const;
    /// Rename and/or replace metadata, through the log. After a rename, this handle and its
    /// copies use the new name. @throws as add().
    write_receipt modify(const modify_options& changes) const;

private:
    friend class client;
    struct shared_name;  // the name, guarded by a mutex; shared by copies of the handle
    collection(std::shared_ptr<detail::replicated_client> impl, std::string tenant, std::string database,
               std::string name);
    std::shared_ptr<detail::replicated_client> impl_;
    std::shared_ptr<shared_name> name_;
};

/// The replicated client.
///
/// Construction connects to the log store, creates or migrates its schema, and starts the
/// health monitor and the sync thread; it does not require any Chroma instance to be up, nor
/// the log store: when the log cannot be reached the client starts degraded (status says
/// log.reachable false, event log_unavailable): reads are served by healthy instances, writes
/// raise log_unavailable, and the client reconnects with backoff (on the sync thread, or on
/// the next call without background threads) and migrates the schema then, so that writes work
/// again on the same object within about two seconds of the log's return.
/// Thread-safety: one client may be shared by any number of threads. Destruction stops the
/// background threads (entries still pending stay in the log for the next client).
/// Exceptions: the client stays usable after any exception its calls throw.
/// Moved-from: a client that was moved from may only be assigned to or destroyed; collection
/// handles obtained from it keep working (they share its state).
class CHROMAWAL_API client {
public:
    /// @throws invalid_argument for a bad configuration (naming the setting), including a log
    ///         the server refuses for good (authentication failed, no such role or database:
    ///         retrying cannot help); log_unavailable when the log answered but failed the
    ///         schema check (a schema newer than this library, no privilege to create it). An
    ///         unreachable log is not an error here (degraded start, above).
    explicit client(client_config config);
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;
    client(client&&) noexcept;
    client& operator=(client&&) noexcept;

    /// Logged and applied to every instance. @throws as collection::add, and
    /// already_exists when the collection exists on the instance that answers first.
    collection create_collection(std::string_view name, const collection_options& options = {});
    /// Logged and applied like create_collection, unless it would change nothing: when every
    /// instance is healthy, has applied everything logged for the collection, and holds it with
    /// the requested metadata (no space or configuration requested), nothing is logged, so
    /// calling it before every batch does not grow the log. An instance that is down, behind or
    /// lacks the collection gets it through the log. @throws as create_collection (but never
    /// already_exists).
    collection get_or_create_collection(std::string_view name, const collection_options& options = {});
    /// Checks that the collection exists on a readable instance. @throws not_found.
    collection get_collection(std::string_view name);
    /// A handle by name without any I/O (the collection may not exist): for writers that must
    /// keep logging while every instance is away (with queue_when_unavailable).
    collection collection_by_name(std::string_view name);
    /// The same, in another tenant and database than the current one.
    collection collection_by_name(std::string_view name, std::string_view tenant, std::string_view database);
    std::vector<std::string> list_collections(std::optional<std::size_t> limit = std::nullopt, std::size_t offset = 0);
    void delete_collection(std::string_view name);

    /// The tenant and database of this client's later collection calls: client_config's at
    /// first. Like chromadb's set_tenant / set_database: no check that they exist (get_tenant,
    /// get_database do that). Collection handles keep the ones they were made in. Thread-safe.
    void set_tenant(std::string_view tenant, std::string_view database = "default_database");
    void set_database(std::string_view database);
    [[nodiscard]] std::string tenant() const;
    [[nodiscard]] std::string database() const;
    /// Tenants and databases, through the log like every write (docs/design.md, "Tenants and
    /// databases"): checked on a healthy instance first (nothing is logged when the check fails),
    /// then logged in the database's own lane and applied to every healthy instance; an instance
    /// that is away gets it on recovery. An empty `tenant`: the current one (set_tenant).
    /// A database is deleted on an instance only after everything logged for its collections
    /// before the deletion is applied there; creating a database again waits (refused with
    /// no_instance_available, nothing logged) until every instance has applied its deletion.
    /// @throws already_exists (create, when the instance that answers has it), not_found
    ///         (delete, when it has not), invalid_argument (a bad name; deleting chromawal's own
    ///         "chromawal_meta"), and as collection::add.
    write_receipt create_database(std::string_view name, std::string_view tenant = {});
    write_receipt delete_database(std::string_view name, std::string_view tenant = {});
    /// Read from a healthy instance. @throws not_found.
    database_info get_database(std::string_view name, std::string_view tenant = {});
    /// Every database of the tenant but chromawal's own ("chromawal_meta"), in the server's order.
    std::vector<database_info> list_databases(std::optional<std::size_t> limit = std::nullopt, std::size_t offset = 0,
                                              std::string_view tenant = {});
    write_receipt create_tenant(std::string_view name);
    /// @return the tenant's name. @throws not_found.
    std::string get_tenant(std::string_view name);
    /// The servers' reset, as chromadb's Client.reset(): POST /reset on every instance (each deletes
    /// every tenant's data; a server started without allow_reset refuses, 403). Not logged: it is
    /// made only when every instance is healthy and has applied every entry of the log (waited
    /// for up to `wait`), so that no instance replays an older write afterwards; writers (of any
    /// process) must not write meanwhile. For tests, as in chromadb. Afterwards this log is
    /// recorded on the instances again.
    /// @throws no_instance_available (nothing reset) when an instance is down or behind;
    ///         server_rejected when an instance refuses (the message names those already reset).
    void reset(std::chrono::milliseconds wait = std::chrono::seconds(30));

    [[nodiscard]] status_report status() const;
    /// The address the metrics listener is bound to ("127.0.0.1:41234", the real port when
    /// client_config::metrics_address asked for port 0); empty when there is no listener.
    [[nodiscard]] std::string metrics_address() const;
    /// One synchronous sync pass over every instance (the background thread does this too).
    void sync_now();
    /// Waits until the instances hold the same writes: every instance is healthy, has applied
    /// every entry of every collection (none needs a repair), and no instance has a dead letter
    /// outstanding (an entry it stepped over). A dead letter keeps this false until it is
    /// replayed (replay_dead_letters) or superseded by repair(): waiting alone does not clear
    /// it. When it returns true, the entries applied everywhere are marked applied in the log.
    /// @return false when the timeout passes first.
    /// @throws nothing of its own; an unreachable log store counts as "not synced".
    bool wait_until_synced(std::chrono::milliseconds timeout);
    /// Applies each entry dead-lettered on an instance to that instance again (up to 1000 dead
    /// letters per call), each under the lane lock of that instance and collection (the same
    /// lock a sync pass or a write takes, waited for at most the instance's request_timeout).
    /// A dead letter that is applied is removed; one that fails again stays, with its new error
    /// (the instance's answer, or why it could not be reached).
    /// @return how many were replayed, failed again, or were skipped because the lane stayed busy.
    /// @throws log_unavailable when the log cannot be read or the outcome cannot be recorded
    /// (dead letters already replayed stay replayed; the client stays usable).
    replay_result replay_dead_letters();
    /// The dead-lettered entries, oldest first.
    std::vector<dead_letter_info> dead_letters(std::size_t limit = 100) const;

    /// This client's write-ahead log: its id (made once, when the log was created) and where it
    /// is (no password). @throws log_unavailable when the log cannot be read.
    std::string log_id() const;
    std::string log_description() const;
    /// Records this client's log on every instance, replacing the record of another log: after
    /// it, this log drives the instances and every client of another log refuses to write to
    /// them. Use it only when the other log is retired (or the instances were restored for this
    /// one), and consider verify/repair first: the instances may hold writes this log never
    /// had. Audited: the record on each instance keeps the previous log, the time, the host and
    /// `reason`; an instances_taken_over event is emitted per instance.
    /// @throws invalid_argument for an empty reason; connection errors when an instance cannot
    ///         be reached (those reached are taken over; call again); log_unavailable.
    std::vector<takeover_step> take_over_instances(const std::string& reason);

    /// Compares the stored records of two instances (by name): order-independent digests
    /// first, per-id differences only where the digests differ.
    /// @throws invalid_argument for an unknown instance name; transport errors.
    verify_result verify(std::string_view instance_a, std::string_view instance_b, const verify_options& options = {});
    /// Makes `target` identical to `source` (every collection, or the named ones) by logging
    /// the upserts and deletes it needs, so that the repair is audited and ordered like any
    /// write. A target that missed pruned entries is first moved to the head of each lane.
    repair_result repair(std::string_view source, std::string_view target,
                         const std::vector<std::string>& collections = {});
    /// Applies retention now: deletes entries applied everywhere and older than
    /// client_config::retention, in small batches. Returns the number of entries removed.
    std::int64_t prune();
    /// The recorded advances of `instance` in the collection's lane, oldest first (only those
    /// made while client_config::record_apply_history was on). When every apply was exclusive
    /// and in order, each `from` is the previous `to`.
    /// @throws invalid_argument for an unknown instance name; log_unavailable.
    std::vector<apply_history_entry> apply_history(std::string_view instance, std::string_view collection) const;

private:
    std::shared_ptr<detail::replicated_client> impl_;
};

}  // namespace chromawal
