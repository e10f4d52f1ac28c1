#include "wal/pg/migrations.hpp"

namespace chromawal::wal::pg {

const std::vector<migration>& migrations() {
    static const std::vector<migration> all = {
        {1,
         {
             R"sql(CREATE TABLE S.lanes (
    lane_id bigserial PRIMARY KEY,
    tenant text NOT NULL,
    database text NOT NULL,
    collection text NOT NULL,
    next_position bigint NOT NULL DEFAULT 1 CHECK (next_position >= 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT lanes_key UNIQUE (tenant, database, collection)
) WITH (fillfactor = 50))sql",
             // No foreign keys to lanes: its rows are updated by every append, and a key-share
             // lock from each insert (or advance) would add a WAL record or a MultiXact to that
             // hot row. Every writer of lane_id takes it from lanes; lanes are never deleted.
             R"sql(CREATE TABLE S.entries (
    lane_id bigint NOT NULL,
    position bigint NOT NULL,
    idempotency_id text NOT NULL,
    op smallint NOT NULL,
    payload bytea NOT NULL,
    state smallint NOT NULL DEFAULT 0,
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT entries_pkey PRIMARY KEY (lane_id, position),
    CONSTRAINT entries_idempotency_id_key UNIQUE (idempotency_id)
))sql",
             "CREATE INDEX entries_pending ON S.entries (lane_id, position) WHERE state = 0",
             R"sql(CREATE TABLE S.instance_positions (
    instance text NOT NULL,
    lane_id bigint NOT NULL,
    applied_position bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (instance, lane_id)
))sql",
             R"sql(CREATE TABLE S.dead_letters (
    instance text NOT NULL,
    lane_id bigint NOT NULL,
    position bigint NOT NULL,
    error text NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (instance, lane_id, position),
    FOREIGN KEY (lane_id, position) REFERENCES S.entries (lane_id, position) ON DELETE CASCADE
))sql",
             // The whole append in one statement: lanes are locked in key order (no deadlock
             // between multi-lane appends); each lane's row lock is held until commit, which
             // makes positions gapless in commit order.
             R"sql(CREATE FUNCTION S.append_entries(p_tenant text[], p_database text[], p_collection text[],
                                  p_idempotency_id text[], p_op smallint[], p_payload bytea[])
RETURNS TABLE (out_ord integer, out_lane_id bigint, out_position bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
    k record;
    v_idx integer[];
    v_lane bigint;
    v_first bigint;
    v_count integer := cardinality(p_idempotency_id);
    v_lanes bigint[];
    v_positions bigint[];
BEGIN
    IF v_count = 0 THEN
        RETURN;
    END IF;
    IF cardinality(p_tenant) <> v_count OR cardinality(p_database) <> v_count
       OR cardinality(p_collection) <> v_count OR cardinality(p_op) <> v_count
       OR cardinality(p_payload) <> v_count THEN
        RAISE EXCEPTION 'append_entries: arrays of different lengths';
    END IF;
    v_lanes := array_fill(0::bigint, ARRAY[v_count]);
    v_positions := array_fill(0::bigint, ARRAY[v_count]);
    FOR k IN
        SELECT t.tenant, t.database, t.collection, array_agg(t.i::integer ORDER BY t.i) AS idx
        FROM unnest(p_tenant, p_database, p_collection) WITH ORDINALITY AS t(tenant, database, collection, i)
        GROUP BY t.tenant, t.database, t.collection
        ORDER BY t.tenant, t.database, t.collection
    LOOP
        v_idx := k.idx;
        UPDATE S.lanes AS l SET next_position = l.next_position + cardinality(v_idx)
        WHERE l.tenant = k.tenant AND l.database = k.database AND l.collection = k.collection
        RETURNING l.lane_id, l.next_position - cardinality(v_idx) INTO v_lane, v_first;
        IF NOT FOUND THEN
            INSERT INTO S.lanes AS l (tenant, database, collection) VALUES (k.tenant, k.database, k.collection)
            ON CONFLICT DO NOTHING;
            UPDATE S.lanes AS l SET next_position = l.next_position + cardinality(v_idx)
            WHERE l.tenant = k.tenant AND l.database = k.database AND l.collection = k.collection
            RETURNING l.lane_id, l.next_position - cardinality(v_idx) INTO v_lane, v_first;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'append_entries: lane could not be created';
            END IF;
        END IF;
        FOR j IN 1 .. cardinality(v_idx) LOOP
            v_lanes[v_idx[j]] := v_lane;
            v_positions[v_idx[j]] := v_first + j - 1;
        END LOOP;
    END LOOP;
    INSERT INTO S.entries (lane_id, position, idempotency_id, op, payload)
    SELECT u.lane_id, u.position, u.idempotency_id, u.op, u.payload
    FROM unnest(v_lanes, v_positions, p_idempotency_id, p_op, p_payload)
        AS u(lane_id, position, idempotency_id, op, payload);
    RETURN QUERY SELECT t.i::integer, t.lane_id, t.position
    FROM unnest(v_lanes, v_positions) WITH ORDINALITY AS t(lane_id, position, i);
END
$fn$)sql",
             // A session advisory lock with a bounded wait, in one round trip; woken the moment
             // the holder releases (no polling).
             R"sql(CREATE FUNCTION S.lock_lane(p_key1 integer, p_key2 integer, p_wait_ms integer)
RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM set_config('lock_timeout', greatest(p_wait_ms, 1)::text || 'ms', true);
    PERFORM pg_advisory_lock(p_key1, p_key2);
    RETURN true;
EXCEPTION WHEN lock_not_available THEN
    RETURN false;
END
$fn$)sql",
             // Decided under every instance's lane lock (transaction-scoped, taken in the
             // caller's sorted order), so no applier of this lane can be mid-way.
             R"sql(CREATE FUNCTION S.abandon_if_unapplied(p_keys integer[], p_lane_key integer, p_lane bigint,
                                        p_position bigint, p_instances text[])
RETURNS boolean LANGUAGE plpgsql AS $fn$
DECLARE
    k integer;
BEGIN
    FOREACH k IN ARRAY COALESCE(p_keys, '{}') LOOP
        PERFORM pg_advisory_xact_lock(k, p_lane_key);
    END LOOP;
    IF EXISTS (SELECT 1 FROM S.instance_positions p
               WHERE p.lane_id = p_lane AND p.instance = ANY(p_instances) AND p.applied_position >= p_position) THEN
        RETURN false;
    END IF;
    UPDATE S.entries SET state = 3, updated_at = now()
    WHERE lane_id = p_lane AND position = p_position AND state IN (0, 3);
    RETURN FOUND;
END
$fn$)sql",
         }},
        // Version 2: retention and apply history. Adding a column with a constant default
        // does not rewrite the table.
        {2,
         {
             "ALTER TABLE S.lanes ADD COLUMN pruned_through bigint NOT NULL DEFAULT 0",
             // One row per advance of an applied position, written in the advancing
             // transaction when client_config::record_apply_history is on; id gives the order.
             R"sql(CREATE TABLE S.apply_history (
    id bigserial PRIMARY KEY,
    instance text NOT NULL,
    lane_id bigint NOT NULL,
    from_position bigint NOT NULL,
    to_position bigint NOT NULL,
    skipped boolean NOT NULL DEFAULT false,
    at timestamptz NOT NULL DEFAULT now()
))sql",
             "CREATE INDEX apply_history_lane ON S.apply_history (instance, lane_id, id)",
         }},
        // Payloads hold float32 embeddings, which pglz cannot shrink: skip the attempt (it
        // cost about 0.1-0.3 ms per append and stored the bytes raw anyway).
        {3,
         {
             "ALTER TABLE S.entries ALTER COLUMN payload SET STORAGE EXTERNAL",
         }},
        // Version 4: abandoning waits for the lane locks for a bounded time (a writer's wait is
        // bounded by one request timeout); it answers 0 abandoned, 1 kept (applied somewhere,
        // or no longer pending), 2 undecided (a lane lock stayed held: an applier may be
        // sending it right now).
        {4,
         {
             "DROP FUNCTION IF EXISTS S.abandon_if_unapplied(integer[], integer, bigint, bigint, text[])",
             R"sql(CREATE OR REPLACE FUNCTION S.abandon_unless_applied(p_keys integer[], p_lane_key integer, p_lane bigint,
                                        p_position bigint, p_instances text[], p_wait_ms integer)
RETURNS smallint LANGUAGE plpgsql AS $fn$
DECLARE
    k integer;
    v_until timestamptz := clock_timestamp() + make_interval(secs => greatest(p_wait_ms, 1) / 1000.0);
BEGIN
    BEGIN
        FOREACH k IN ARRAY COALESCE(p_keys, '{}') LOOP
            -- One deadline for all the locks, not one wait per lock.
            PERFORM set_config('lock_timeout',
                               greatest(1, ceil(extract(epoch FROM v_until - clock_timestamp()) * 1000))::bigint::text
                                   || 'ms', true);
            PERFORM pg_advisory_xact_lock(k, p_lane_key);
        END LOOP;
    EXCEPTION WHEN lock_not_available THEN
        RETURN 2;
    END;
    IF EXISTS (SELECT 1 FROM S.instance_positions p
               WHERE p.lane_id = p_lane AND p.instance = ANY(p_instances) AND p.applied_position >= p_position) THEN
        RETURN 1;
    END IF;
    UPDATE S.entries SET state = 3, updated_at = now()
    WHERE lane_id = p_lane AND position = p_position AND state IN (0, 3);
    IF FOUND THEN
        RETURN 0;
    END IF;
    RETURN 1;
END
$fn$)sql",
         }},
        // Version 5: a lane follows its collection across renames (docs/design.md, "A lane
        // follows its collection"). lanes.collection is the name the lane holds now; a rename
        // moves it in the appending transaction, so only a partial index keeps names unique
        // (holds_name is false for a lane whose name a rename took over). Each entry stores the
        // name it addressed (NULL in older rows: the lane's first_name, its only name then).
        // A lane created for a name that a rename released starts after that rename
        // (lanes.after_*); a rename onto a name another lane held comes after that lane's
        // entries (entries.after_*). Columns without defaults: no table rewrite.
        {5,
         {
             "ALTER TABLE S.lanes ADD COLUMN holds_name boolean NOT NULL DEFAULT true",
             "ALTER TABLE S.lanes ADD COLUMN first_name text",
             "ALTER TABLE S.lanes ADD COLUMN after_lane bigint",
             "ALTER TABLE S.lanes ADD COLUMN after_position bigint",
             "UPDATE S.lanes SET first_name = collection",
             "ALTER TABLE S.lanes ALTER COLUMN first_name SET NOT NULL",
             "ALTER TABLE S.lanes DROP CONSTRAINT lanes_key",
             "CREATE UNIQUE INDEX lanes_current_name ON S.lanes (tenant, database, collection) WHERE holds_name",
             "ALTER TABLE S.entries ADD COLUMN collection text",
             "ALTER TABLE S.entries ADD COLUMN after_lane bigint",
             "ALTER TABLE S.entries ADD COLUMN after_position bigint",
             // Where each name was last given up by a rename: the lane and the rename's position.
             R"sql(CREATE TABLE S.name_releases (
    tenant text NOT NULL,
    database text NOT NULL,
    collection text NOT NULL,
    lane_id bigint NOT NULL,
    position bigint NOT NULL,
    PRIMARY KEY (tenant, database, collection)
))sql",
             R"sql(CREATE FUNCTION S.name_lock_key(p_tenant text, p_database text, p_collection text)
RETURNS bigint LANGUAGE sql IMMUTABLE AS $fn$
    SELECT hashtextextended(p_tenant || '/' || p_database || '/' || p_collection, 7243)
$fn$)sql",
             // The lane that holds a name, created when none does. Creating a lane for a name and
             // moving a name onto a lane take the name's transaction lock (one-key advisory
             // locks: a key space apart from the two-key lane locks), so they are serialised.
             R"sql(CREATE FUNCTION S.claim_lane(p_tenant text, p_database text, p_collection text)
RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE
    v_lane bigint;
    v_after_lane bigint;
    v_after_position bigint;
BEGIN
    SELECT l.lane_id INTO v_lane FROM S.lanes l
    WHERE l.tenant = p_tenant AND l.database = p_database AND l.collection = p_collection AND l.holds_name;
    IF FOUND THEN
        RETURN v_lane;
    END IF;
    PERFORM pg_advisory_xact_lock(S.name_lock_key(p_tenant, p_database, p_collection));
    SELECT l.lane_id INTO v_lane FROM S.lanes l
    WHERE l.tenant = p_tenant AND l.database = p_database AND l.collection = p_collection AND l.holds_name;
    IF FOUND THEN
        RETURN v_lane;
    END IF;
    SELECT r.lane_id, r.position INTO v_after_lane, v_after_position FROM S.name_releases r
    WHERE r.tenant = p_tenant AND r.database = p_database AND r.collection = p_collection;
    INSERT INTO S.lanes (tenant, database, collection, first_name, after_lane, after_position)
    VALUES (p_tenant, p_database, p_collection, p_collection, v_after_lane, v_after_position)
    RETURNING lane_id INTO v_lane;
    RETURN v_lane;
END
$fn$)sql",
             // Lanes locked in name order, each claimed (found or created) first; the name is
             // re-checked under the row lock, since a rename may have moved it meanwhile.
             R"sql(CREATE OR REPLACE FUNCTION S.append_entries(p_tenant text[], p_database text[], p_collection text[],
                                  p_idempotency_id text[], p_op smallint[], p_payload bytea[])
RETURNS TABLE (out_ord integer, out_lane_id bigint, out_position bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
    k record;
    v_idx integer[];
    v_lane bigint;
    v_first bigint;
    v_count integer := cardinality(p_idempotency_id);
    v_lanes bigint[];
    v_positions bigint[];
BEGIN
    IF v_count = 0 THEN
        RETURN;
    END IF;
    IF cardinality(p_tenant) <> v_count OR cardinality(p_database) <> v_count
       OR cardinality(p_collection) <> v_count OR cardinality(p_op) <> v_count
       OR cardinality(p_payload) <> v_count THEN
        RAISE EXCEPTION 'append_entries: arrays of different lengths';
    END IF;
    v_lanes := array_fill(0::bigint, ARRAY[v_count]);
    v_positions := array_fill(0::bigint, ARRAY[v_count]);
    FOR k IN
        SELECT t.tenant, t.database, t.collection, array_agg(t.i::integer ORDER BY t.i) AS idx
        FROM unnest(p_tenant, p_database, p_collection) WITH ORDINALITY AS t(tenant, database, collection, i)
        GROUP BY t.tenant, t.database, t.collection
        ORDER BY t.tenant, t.database, t.collection
    LOOP
        v_idx := k.idx;
        FOR attempt IN 1 .. 3 LOOP
            v_lane := S.claim_lane(k.tenant, k.database, k.collection);
            UPDATE S.lanes AS l SET next_position = l.next_position + cardinality(v_idx)
            WHERE l.lane_id = v_lane AND l.collection = k.collection AND l.holds_name
            RETURNING l.next_position - cardinality(v_idx) INTO v_first;
            EXIT WHEN FOUND;
            v_lane := NULL;
        END LOOP;
        IF v_lane IS NULL THEN
            RAISE EXCEPTION 'append_entries: the lane of a name kept moving';
        END IF;
        FOR j IN 1 .. cardinality(v_idx) LOOP
            v_lanes[v_idx[j]] := v_lane;
            v_positions[v_idx[j]] := v_first + j - 1;
        END LOOP;
    END LOOP;
    INSERT INTO S.entries (lane_id, position, idempotency_id, op, payload, collection)
    SELECT u.lane_id, u.position, u.idempotency_id, u.op, u.payload, u.collection
    FROM unnest(v_lanes, v_positions, p_idempotency_id, p_op, p_payload, p_collection)
        AS u(lane_id, position, idempotency_id, op, payload, collection);
    RETURN QUERY SELECT t.i::integer, t.lane_id, t.position
    FROM unnest(v_lanes, v_positions) WITH ORDINALITY AS t(lane_id, position, i);
END
$fn$)sql",
             // A rename, alone in its append: its entry goes to the lane holding the old name,
             // and in the same transaction that lane takes the new name. A lane that held the new
             // name gives it up, and the rename comes after that lane's last entry (every
             // instance applies those first: a deleted collection is gone before the rename
             // takes its name). The old name's release is recorded for the lane created next
             // for it. Both names are locked in order first, so two renames cannot deadlock.
             R"sql(CREATE FUNCTION S.append_rename(p_tenant text, p_database text, p_collection text,
                                 p_idempotency_id text, p_op smallint, p_payload bytea, p_new_name text)
RETURNS TABLE (out_lane_id bigint, out_position bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
    v_lane bigint;
    v_position bigint;
    v_after_lane bigint;
    v_after_position bigint;
    v_key1 bigint;
    v_key2 bigint;
BEGIN
    v_key1 := S.name_lock_key(p_tenant, p_database, p_collection);
    v_key2 := S.name_lock_key(p_tenant, p_database, p_new_name);
    PERFORM pg_advisory_xact_lock(least(v_key1, v_key2));
    PERFORM pg_advisory_xact_lock(greatest(v_key1, v_key2));
    v_lane := S.claim_lane(p_tenant, p_database, p_collection);
    UPDATE S.lanes AS l SET next_position = l.next_position + 1
    WHERE l.lane_id = v_lane AND l.collection = p_collection AND l.holds_name
    RETURNING l.next_position - 1 INTO v_position;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'append_rename: the lane of % moved', p_collection;
    END IF;
    IF p_new_name <> p_collection THEN
        UPDATE S.lanes AS l SET holds_name = false
        WHERE l.tenant = p_tenant AND l.database = p_database AND l.collection = p_new_name AND l.holds_name
        RETURNING l.lane_id, l.next_position - 1 INTO v_after_lane, v_after_position;
        UPDATE S.lanes SET collection = p_new_name WHERE lane_id = v_lane;
        INSERT INTO S.name_releases AS r (tenant, database, collection, lane_id, position)
        VALUES (p_tenant, p_database, p_collection, v_lane, v_position)
        ON CONFLICT (tenant, database, collection) DO UPDATE SET lane_id = EXCLUDED.lane_id, position = EXCLUDED.position;
    END IF;
    INSERT INTO S.entries (lane_id, position, idempotency_id, op, payload, collection, after_lane, after_position)
    VALUES (v_lane, v_position, p_idempotency_id, p_op, p_payload, p_collection, v_after_lane, v_after_position);
    RETURN QUERY SELECT v_lane, v_position;
END
$fn$)sql",
         }},
        // Version 6: the log's identity (one row, made once): recorded on the Chroma instances
        // it drives, so that two logs cannot drive one instance set unnoticed (docs/design.md,
        // "One log per instance set").
        {6,
         {
             R"sql(CREATE TABLE S.log_identity (
    id text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
))sql",
             "INSERT INTO S.log_identity (id) VALUES (gen_random_uuid()::text)",
         }},
        // Version 7: fewer statements per live write (docs/design.md, "Statements per write").
        {7,
         {
             // The end of the WAL as it was just after the last advance_release here committed
             // without waiting for its flush (NULL: nothing to wait for). See lock_lane_applied.
             "ALTER TABLE S.instance_positions ADD COLUMN IF NOT EXISTS durable_lsn pg_lsn",
             // Takes the lane lock (tries first, without a subtransaction; with a wait of 1 ms or
             // more, then waits up to that long, as lock_lane does) and, only when it got it,
             // reads what stmt::applied reads, in one round trip. The read is a statement of its
             // own AFTER the lock: a volatile function
             // takes a new snapshot for each statement, so it sees every advance that the
             // previous holder committed before letting go. (One plain SELECT taking the lock
             // and reading the position would read with a snapshot from before it waited, an
             // older position, and the entries after it would be applied twice.) lock_timeout is
             // put back before the read: an error after the lock is taken would leave the lock
             // in the session (the client then closes the connection anyway).
             R"sql(CREATE FUNCTION S.lock_lane_applied(p_key1 integer, p_key2 integer, p_wait_ms integer,
                                     p_instance text, p_lane bigint)
RETURNS TABLE (locked boolean, applied_position bigint, pruned_through bigint, start_ready boolean)
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    v_locked boolean := false;
    v_lock_timeout text;
BEGIN
    -- Uncontended (the common case): no subtransaction, no setting changed.
    v_locked := pg_try_advisory_lock(p_key1, p_key2);
    IF NOT v_locked AND p_wait_ms >= 1 THEN
        v_lock_timeout := current_setting('lock_timeout');
        BEGIN
            PERFORM set_config('lock_timeout', p_wait_ms::text || 'ms', true);
            PERFORM pg_advisory_lock(p_key1, p_key2);
            v_locked := true;
        EXCEPTION WHEN lock_not_available THEN
            v_locked := false;
        END;
        PERFORM set_config('lock_timeout', v_lock_timeout, true);
    END IF;
    IF NOT v_locked THEN
        RETURN QUERY SELECT false, 0::bigint, 0::bigint, true;
        RETURN;
    END IF;
    -- The previous holder's last advance may not be flushed yet (advance_release commits it
    -- without waiting). Before this holder sends a request, it must be: then a crash loses at
    -- most this holder's own last advance (at most one request applied again). Usually a later
    -- append's commit flushed it already; otherwise this statement writes, and its commit
    -- (synchronous) flushes the WAL up to here before the caller gets the answer.
    IF EXISTS (SELECT 1 FROM S.instance_positions d WHERE d.instance = p_instance AND d.lane_id = p_lane
               AND d.durable_lsn IS NOT NULL AND d.durable_lsn > pg_current_wal_flush_lsn()) THEN
        PERFORM set_config('synchronous_commit', 'on', true);
        UPDATE S.instance_positions SET durable_lsn = NULL WHERE instance = p_instance AND lane_id = p_lane;
    END IF;
    RETURN QUERY
    SELECT true, COALESCE(p.applied_position, 0), COALESCE(l.pruned_through, 0),
           COALESCE(l.after_lane IS NULL OR COALESCE((SELECT d.applied_position FROM S.instance_positions d
                                                      WHERE d.instance = p_instance AND d.lane_id = l.after_lane), 0)
                                            >= l.after_position, true)
    FROM (SELECT p_lane AS lane_id) k
    LEFT JOIN S.lanes l ON l.lane_id = k.lane_id
    LEFT JOIN S.instance_positions p ON p.lane_id = l.lane_id AND p.instance = p_instance;
END
$fn$)sql",
             // The last advance of a lane lock's life and letting the lock go, in one round trip:
             // stmt::advance's write (never backwards, never beyond the head, with the apply
             // history when p_history), COMMIT, and only then pg_advisory_unlock. Unlocking in the
             // advancing transaction would free the lock before the advance is visible: the next
             // holder could read the old position and apply its entries again. Must be CALLed
             // outside a transaction block (the pool's statements are). o_advanced: the position
             // moved; else o_head is the lane's head (NULL: no such lane), for the caller to tell
             // "not forward" from "beyond the head". o_released: the lock was held and is let go.
             R"sql(CREATE PROCEDURE S.advance_release(p_instance text, p_lane bigint, p_position bigint, p_from bigint,
                                    p_history boolean, p_skipped boolean, p_key1 integer, p_key2 integer,
                                    INOUT o_advanced boolean DEFAULT NULL, INOUT o_head bigint DEFAULT NULL,
                                    INOUT o_released boolean DEFAULT NULL)
LANGUAGE plpgsql AS $fn$
BEGIN
    WITH up AS (
        INSERT INTO S.instance_positions AS p (instance, lane_id, applied_position, updated_at)
        SELECT p_instance, l.lane_id, p_position, now() FROM S.lanes l
        WHERE l.lane_id = p_lane AND p_position < l.next_position
        ON CONFLICT (instance, lane_id) DO UPDATE SET applied_position = EXCLUDED.applied_position,
            updated_at = EXCLUDED.updated_at WHERE p.applied_position < EXCLUDED.applied_position
        RETURNING 1),
    history AS (
        INSERT INTO S.apply_history (instance, lane_id, from_position, to_position, skipped)
        SELECT p_instance, p_lane, p_from, p_position, p_skipped FROM up WHERE p_history)
    SELECT count(*) > 0 INTO o_advanced FROM up;
    IF NOT o_advanced THEN
        SELECT l.next_position - 1 INTO o_head FROM S.lanes l WHERE l.lane_id = p_lane;
        COMMIT;
    ELSE
        -- Committed without waiting for the flush; the end of the WAL after it is recorded (in
        -- a second commit, still under the lock), so that the next holder of this lock makes
        -- sure it is flushed before its next request (lock_lane_applied). A crash can then lose
        -- only this last advance: its request is applied once more, which is harmless.
        PERFORM set_config('synchronous_commit', 'off', true);
        COMMIT;
        UPDATE S.instance_positions SET durable_lsn = pg_current_wal_insert_lsn()
        WHERE instance = p_instance AND lane_id = p_lane;
        PERFORM set_config('synchronous_commit', 'off', true);
        COMMIT;
    END IF;
    o_released := pg_advisory_unlock(p_key1, p_key2);
END
$fn$)sql",
         }},
    };
    return all;
}

}  // namespace chromawal::wal::pg
