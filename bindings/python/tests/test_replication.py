"""Replication from Python against real servers: two Chroma instances of its own (killed with
SIGKILL and restarted here) and PostgreSQL. Every scenario ends with both instances compared
record by record (Client.verify)."""
import threading
import time

import numpy as np
import pytest

import chromawal

from conftest import ChromaServer, make_replicated, make_rng, unique, wait_for

DIM = 16


@pytest.fixture(scope="module")
def cluster(tmp_root, chroma_install):
    # allow_reset: test_reset_and_configuration resets them.
    s = [ChromaServer(tmp_root, "fo-a", allow_reset=True), ChromaServer(tmp_root, "fo-b", allow_reset=True)]
    try:
        for x in s:
            x.start()
        yield s
    finally:
        for x in s:
            x.stop()


@pytest.fixture
def up(cluster):
    """Both instances running at the start (and end) of each test."""
    for s in cluster:
        if not s.running():
            s.restart()
    yield cluster
    for s in cluster:
        if not s.running():
            s.restart()


def batch(prefix, n, doc_id="d0"):
    rng = make_rng(prefix)  # the same embeddings for the same prefix, on every run
    return dict(
        ids=[f"{prefix}-{i}" for i in range(n)],
        embeddings=rng.random((n, DIM), dtype=np.float32),
        documents=[f"chunk {i} of {doc_id}" for i in range(n)],
        metadatas=[{"document_id": doc_id, "chunk": i} for i in range(n)],
    )


def healthy(client, instance_name):
    return next(i["healthy"] for i in client.status()["instances"] if i["name"] == instance_name)


def assert_identical(client, name, records=None):
    assert client.wait_until_synced(60), client.status()
    report = client.verify(name)
    assert report["identical"], report["summary"]
    if records is not None:
        assert report["records_a"] == records == report["records_b"]
    return report


def test_status_receipts_and_quorum(up, postgres):
    with make_replicated(up, postgres, write_quorum=2) as client:
        assert [i["name"] for i in client.instances] == ["a", "b"]
        assert client.instances[0]["primary"] and not client.instances[1]["primary"]
        coll = client.create_collection(unique("status"))
        coll.add(**batch("s", 10))
        r = coll.last_receipt
        assert r["position"] == 2 and sorted(r["applied"]) == ["a", "b"] and r["queued"] is False
        assert len(r["entry_id"]) == 36
        s = client.status()
        assert s["sync_running"] is True
        assert s["log"]["reachable"] is True
        assert s["log"]["pending"] + s["log"]["applied"] >= 2
        assert [i["name"] for i in s["instances"]] == ["a", "b"]
        for i in s["instances"]:
            assert set(i) >= {"name", "url", "primary", "healthy", "last_error", "success_rate", "latency_ms",
                              "applied", "lag_entries", "lag_seconds"}
            assert i["healthy"] is True and i["applied"] >= 2
        assert "chromawal_instance_up" in client.status_prometheus()
        assert client.heartbeat() > 0 and client.get_version() and client.get_max_batch_size() > 0
        assert_identical(client, coll.name, 10)


@pytest.mark.parametrize("victim", [1, 0], ids=["replica", "primary"])
def test_instance_killed_during_writes(up, postgres, victim):
    """One instance dies (SIGKILL) in the middle of a stream of writes; the writes go on, reads
    fail over, and after its restart the sync thread catches it up: both identical."""
    with make_replicated(up, postgres) as client:
        name = unique("failover")
        coll = client.create_collection(name)
        total_batches, per_batch = 40, 25
        errors, receipts = [], []
        progress = threading.Event()

        def writer():
            try:
                for b in range(total_batches):
                    coll.add(**batch(f"w{b}", per_batch, doc_id=f"doc{b % 5}"))
                    receipts.append(coll.last_receipt)
                    if b == 8:
                        progress.set()
                    time.sleep(0.01)
            except Exception as e:  # noqa: BLE001
                errors.append(e)
                progress.set()

        t = threading.Thread(target=writer)
        t.start()
        assert progress.wait(60)
        up[victim].kill9()
        # Reads keep working (fail over to the survivor) while the writer goes on.
        counts = [coll.count() for _ in range(3)]
        t.join(120)
        assert not t.is_alive()
        assert errors == []
        assert counts == sorted(counts)
        survivor = client.instances[1 - victim]["name"]
        assert all(survivor in r["applied"] for r in receipts)
        assert any(len(r["applied"]) == 1 for r in receipts)  # some writes found the victim gone
        assert coll.count() == total_batches * per_batch
        assert wait_for(lambda: not healthy(client, client.instances[victim]["name"]))
        lag = next(i for i in client.status()["instances"] if i["name"] == client.instances[victim]["name"])
        assert lag["lag_entries"] >= 1

        up[victim].restart()
        assert_identical(client, name, total_batches * per_batch)
        # And a whole document deleted after the recovery reaches both.
        coll.delete_document("doc3")
        assert_identical(client, name, (total_batches - total_batches // 5) * per_batch)


def test_queue_when_unavailable(up, postgres):
    with make_replicated(up, postgres, queue_when_unavailable=True) as client:
        name = unique("queued")
        client.create_collection(name)
        for s in up:
            s.kill9()
        coll = client.collection(name)  # no I/O
        coll.add(**batch("q1", 20))
        assert coll.last_receipt["queued"] is True and coll.last_receipt["applied"] == []
        coll.add(**batch("q2", 20))
        # No server answered a queued filter delete: its count is unknown (an ids-only one is len(ids)).
        assert coll.delete(where={"chunk": {"$gt": 100}}) == {"deleted": None}
        assert coll.delete(ids=["nope-1", "nope-2"]) == {"deleted": 2}
        assert client.status()["log"]["pending"] >= 2
        # A read cannot see this client's queued writes yet.
        with pytest.raises(chromawal.NoInstanceAvailableError):
            coll.count()
        for s in up:
            s.restart()
        assert_identical(client, name, 40)
        assert coll.count() == 40


def test_no_instance_available(up, postgres):
    with make_replicated(up, postgres) as client:
        name = unique("abandon")
        coll = client.create_collection(name)
        for s in up:
            s.kill9()
        with pytest.raises(chromawal.NoInstanceAvailableError) as e:
            coll.add(**batch("x", 5))
        assert e.value.queued is False and e.value.position >= 2
        assert "abandoned" in str(e.value)
        for s in up:
            s.restart()
        assert client.wait_until_synced(60)
        assert coll.count() == 0  # an abandoned write is never applied
        assert client.status()["log"]["abandoned"] >= 1


def test_quorum_not_reached(up, postgres):
    with make_replicated(up, postgres, write_quorum=2) as client:
        name = unique("quorum")
        coll = client.create_collection(name)
        up[1].kill9()
        with pytest.raises(chromawal.QuorumNotReachedError) as e:
            coll.add(**batch("qq", 8))
        assert e.value.applied_count == 1 and e.value.position >= 2
        up[1].restart()
        assert_identical(client, name, 8)  # applied to b on its return, not retried


def test_tenant_and_database_are_checked_at_construction(up, postgres):
    # As chromadb's clients and HttpClient: the server's NotFoundError for a database (or tenant)
    # that no instance has.
    missing = unique("no_db")
    with pytest.raises(chromawal.NotFoundError) as theirs:
        chromawal.HttpClient("127.0.0.1", up[0].port, database=missing)
    with pytest.raises(chromawal.NotFoundError) as ours:
        make_replicated(up, postgres, database=missing)
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(chromawal.NotFoundError):
        make_replicated(up, postgres, tenant=unique("no_tenant"))
    # The primary lacks it, another instance has it (as while it catches up): the client starts.
    db = unique("db_on_b")
    chromawal.HttpClient("127.0.0.1", up[1].port).create_database(db)
    make_replicated(up, postgres, database=db).close()
    # The only instance that has it is down: the instances that answer decide.
    up[1].kill9()
    with pytest.raises(chromawal.NotFoundError):
        make_replicated(up, postgres, database=db)
    # No instance reachable: a degraded start (nothing to check); the missing database shows as
    # the server's error in the first call an instance answers.
    up[0].kill9()
    unchecked = unique("unchecked_db")
    with make_replicated(up, postgres, database=unchecked) as client:
        assert client.database == unchecked
        up[0].restart()
        assert wait_for(lambda: healthy(client, "a"))
        with pytest.raises(chromawal.ChromaError, match=rf"^Database \[{unchecked}\] does not exist$"):
            client.create_collection(unique("in-missing-db"))


def test_log_unavailable(up, postgres):
    with make_replicated(up, postgres) as client:
        name = unique("nolog")
        coll = client.create_collection(name)
        coll.add(**batch("before", 5))
        postgres.stop_immediate()
        try:
            with pytest.raises(chromawal.LogUnavailableError):
                coll.add(**batch("during", 5))
            assert client.status()["log"]["reachable"] is False
            assert coll.count(allow_stale=True) == 5  # reads need no log
        finally:
            postgres.start()
        coll.add(**batch("after", 5))
        assert_identical(client, name, 10)


def test_rejected_write_and_verify_divergence(up, postgres):
    with make_replicated(up, postgres) as client:
        name = unique("reject")
        coll = client.create_collection(name)
        coll.add(**batch("r", 4))
        with pytest.raises(chromawal.WriteRejectedError) as e:
            coll.add(ids=["bad"], embeddings=[[1.0, 2.0]])
        assert isinstance(e.value, chromawal.InvalidArgumentError) and e.value.status == 400
        assert client.status()["log"]["rejected"] >= 1
        assert_identical(client, name, 4)

        # A write behind chromawal's back, straight to instance a: verify sees it.
        client.instance("a").get_collection(name).add(ids=["sneaky"], embeddings=[[0.0] * DIM])
        report = client.verify(name)
        assert report["identical"] is False
        assert report["only_in_a"] == ["sneaky"] and report["only_in_b"] == []
        assert report["records_a"] == 5 and report["records_b"] == 4
        assert "sneaky" in report["summary"] or "1" in report["summary"]
        client.instance("a").get_collection(name).delete(ids=["sneaky"])
        assert client.verify(name, "b", "a")["identical"]


def test_events_and_read_policy(up, postgres):
    events = []
    with make_replicated(up, postgres, read_policy="primary_only", on_event=events.append) as client:
        name = unique("events")
        coll = client.create_collection(name)
        coll.add(**batch("e", 3))
        up[0].kill9()
        assert wait_for(lambda: any(e["type"] == "instance_down" and e["instance"] == "a" for e in events))
        assert wait_for(lambda: not healthy(client, "a"))
        with pytest.raises(chromawal.NoInstanceAvailableError):
            coll.count()
        up[0].restart()
        assert wait_for(lambda: any(e["type"] == "instance_up" and e["instance"] == "a" for e in events))
        assert coll.count() == 3
        assert set(events[0]) == {"type", "instance", "message"}


def test_metrics_address_and_alert_webhook(up, postgres):
    """metrics_address= starts the listener (port 0: a free one); alert_webhook_url= posts
    events to a real local HTTP receiver, as Slack-compatible JSON without the URL's secret."""
    import http.server
    import json as jsonlib
    import urllib.error
    import urllib.request

    posts = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            posts.append(self.rfile.read(int(self.headers["Content-Length"])).decode())
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    secret = "py-s3cret-hook-token"
    hook = f"http://127.0.0.1:{server.server_address[1]}/services/{secret}"
    try:
        with make_replicated(up, postgres, metrics_address="127.0.0.1:0", alert_webhook_url=hook) as client:
            address = client.metrics_address
            assert address and address.startswith("127.0.0.1:") and not address.endswith(":0")
            coll = client.create_collection(unique("metrics"))
            coll.add(**batch("pm", 2))
            with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as r:
                text = r.read().decode()
            assert "# TYPE chromawal_writes_total counter" in text
            assert 'chromawal_writes_total{outcome="ok"}' in text
            assert "# HELP chromawal_instance_up" in client.status_prometheus()
            with urllib.request.urlopen(f"http://{address}/health", timeout=5) as r:
                assert r.status == 200 and jsonlib.loads(r.read())["status"] == "ok"
            up[1].kill9()
            assert wait_for(lambda: any('"event":"instance_down"' in p for p in posts))
            for p in posts:
                body = jsonlib.loads(p)
                assert body["text"].startswith("chromawal: ")
                assert secret not in p
            assert secret not in jsonlib.dumps(client.status()) and secret not in repr(client)
    finally:
        server.shutdown()
    with pytest.raises(ValueError, match="metrics_address"):
        make_replicated(up, postgres, metrics_address="nowhere")
    with pytest.raises(ValueError, match="alert_webhook_url") as err:
        make_replicated(up, postgres, alert_webhook_url="ftp://x/" + secret)
    assert secret not in str(err.value)
    with make_replicated(up, postgres) as client:
        assert client.metrics_address is None


def test_reset_and_configuration(up, postgres, monkeypatch):
    with make_replicated(up, postgres, allow_reset=False) as client:
        client.create_collection(unique("keep"))
        with pytest.raises(chromawal.ChromaError, match="Reset is disabled"):
            client.reset()
    with make_replicated(up, postgres) as client:
        client.create_collection(unique("gone")).add(ids=["x"], embeddings=[[1.0] * DIM])
        db = unique("gone-db")
        client.create_database(db)
        # An instance away: nothing is reset (it would replay older writes afterwards).
        up[1].kill9()
        assert wait_for(lambda: not client.status()["instances"][1]["healthy"])
        with pytest.raises(chromawal.NoInstanceAvailableError, match="reset: every instance must be up"):
            client.reset(wait=0.5)
        assert client.instance("a").count_collections() >= 1
        up[1].restart()
        assert client.reset() is True  # waits until b is back and caught up
        assert client.list_collections() == [] and client.count_collections() == 0
        for inst in ("a", "b"):
            assert client.instance(inst).count_collections() == 0
            with pytest.raises(chromawal.NotFoundError):
                client.instance(inst).get_database(db)
        # The log is recorded on the instances again, and writes go on.
        c = client.create_collection(unique("after-reset"))
        c.add(ids=["y"], embeddings=[[2.0] * DIM])
        assert client.wait_until_synced(30)
        assert client.instance("b").get_collection(c.name).count() == 1

    with pytest.raises(ValueError, match="write_quorum"):
        make_replicated(up, postgres, write_quorum=3)
    with pytest.raises(ValueError, match="read_policy"):
        make_replicated(up, postgres, read_policy="random")
    with pytest.raises(ValueError, match="name"):
        make_replicated(up, postgres, instances=[("bad name", up[0].url)])
    # A log that is down at start: the client starts degraded; reads work, writes raise.
    with make_replicated(up, postgres, log_url="postgresql://postgres@127.0.0.1:1/none?connect_timeout=2") as c:
        assert c.status()["log"]["reachable"] is False
        assert isinstance(c.list_collections(), list)
        with pytest.raises(chromawal.LogUnavailableError):
            c.create_collection(unique("down"))

    # Plain URLs: names derived from host and port; the first is the primary.
    with make_replicated(up, postgres, instances=[s.url for s in up]) as client:
        assert client.instances[0]["name"] == f"127.0.0.1_{up[0].port}" and client.instances[0]["primary"]
    with make_replicated(up, postgres, instances=[{"name": "x", "url": up[0].url},
                                                   {"name": "y", "url": up[1].url, "role": "primary"}]) as client:
        assert [i["primary"] for i in client.instances] == [False, True]

    # From the environment, like the C++ client_config::from_env.
    monkeypatch.setenv("CHROMAWAL_INSTANCES", f"a={up[0].url},b={up[1].url}")
    monkeypatch.setenv("CHROMAWAL_LOG_URL", postgres.uri)
    monkeypatch.setenv("CHROMAWAL_WRITE_QUORUM", "2")
    with chromawal.Client.from_env() as client:
        assert [i["name"] for i in client.instances] == ["a", "b"]
        client.take_over_instances("pytest: the environment's log (default schema) on shared servers")
        name = unique("env")
        client.create_collection(name).add(**batch("env", 3))
        assert_identical(client, name, 3)


def test_idempotency_key(up, postgres):
    """A retry with the same idempotency_key returns the first write's receipt and logs nothing;
    the same key for another write is refused before logging; a single server refuses keys."""
    with make_replicated(up, postgres) as client:
        coll = client.create_collection(unique("idem"))
        key = unique("ingest-batch")
        coll.add(**batch("k", 5), idempotency_key=key)
        first = coll.last_receipt
        assert first["entry_id"] == key and sorted(first["applied"]) == ["a", "b"]
        before = client.status()["log"]
        coll.add(**batch("k", 5), idempotency_key=key)  # a retry
        assert coll.last_receipt["position"] == first["position"]
        after = client.status()["log"]
        assert after["pending"] + after["applied"] == before["pending"] + before["applied"]
        with pytest.raises(chromawal.ValidationError, match="already used for a different write"):
            coll.upsert(**batch("k", 5), idempotency_key=key)
        with pytest.raises(TypeError, match="idempotency_key must be a str"):
            coll.add(**batch("k2", 1), idempotency_key=7)
        dkey = unique("delete")
        coll.delete(where={"chunk": {"$gte": 3}}, limit=1, idempotency_key=dkey)
        coll.delete(where={"chunk": {"$gte": 3}}, limit=1, idempotency_key=dkey)  # the same record, once
        assert coll.count() == 4
        assert_identical(client, coll.name, 4)


def test_replay_dead_letters_reports_counts(up, postgres):
    """replay_dead_letters says how many dead letters were replayed, failed again or skipped; one
    that fails again stays, with its new error."""
    with make_replicated(up, postgres, max_attempts=2) as client:
        name = unique("dead")
        coll = client.create_collection(name)
        coll.add(**batch("first", 3))
        assert client.wait_until_synced(30)
        direct_b = chromawal.HttpClient("127.0.0.1", up[1].port)
        direct_b.delete_collection(name)  # behind chromawal's back: the next add fails on b
        coll.add(**batch("second", 3))
        assert wait_for(lambda: client.status()["log"]["dead"] == 1, 30), client.status()
        assert client.replay_dead_letters() == {"replayed": 0, "failed": 1, "skipped": 0}
        assert client.status()["log"]["dead"] == 1  # still dead-lettered
        direct_b.create_collection(name)
        assert client.replay_dead_letters() == {"replayed": 1, "failed": 0, "skipped": 0}
        assert client.status()["log"]["dead"] == 0
        assert direct_b.get_collection(name).count() == 3


def test_a_second_log_is_refused_until_it_takes_over(up, postgres):
    """One log per instance set: a client of another log (its own schema) refuses to write,
    naming both logs and logging nothing, until it takes the instances over."""
    with make_replicated(up, postgres) as first:
        coll = first.create_collection(unique("twologs"))
        coll.add(**batch("t", 3))
        # make_replicated takes over; build the second client by hand so that it does not.
        second = chromawal.Client(
            [(s.name.split("-")[-1], s.url) for s in up],
            log_url=postgres.uri,
            log_schema=unique("t").replace("-", "_"),
            health_interval=0.1,
            sync_interval=0.1,
            connect_timeout=1.0,
            request_timeout=3.0,
        )
        with second:
            assert second.log_id != first.log_id
            with pytest.raises(chromawal.LogConflictError) as info:
                second.create_collection(unique("refused"))
            assert first.log_id in str(info.value) and second.log_id in str(info.value)
            assert isinstance(info.value, chromawal.errors.ChromaError)
            s = second.status()
            assert s["log"]["pending"] + s["log"]["applied"] == 0
            assert {i["log_record"] for i in s["instances"]} == {"other"}
            assert second.get_collection(coll.name).count() == 3  # reads still work
            steps = second.take_over_instances("pytest: the first log is retired")
            assert [st["changed"] for st in steps] == [True, True]
            assert all(first.log_id in st["previous_log"] for st in steps)
            second.create_collection(unique("accepted")).add(**batch("u", 2))


def test_default_log_needs_only_chroma(up, tmp_path, monkeypatch):
    """With no log configured (no log_url, no CHROMAWAL_LOG_URL, no PG* variable) the client keeps
    its log in an SQLite file in the user's state directory, named after the instance set, and
    says so once (a log_default event): nothing but Chroma servers is needed."""
    state = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    monkeypatch.delenv("CHROMAWAL_LOG_URL", raising=False)
    for var in ("PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGSERVICE",
                "PGSERVICEFILE", "PGPASSFILE", "PGSSLMODE", "PGOPTIONS"):
        monkeypatch.delenv(var, raising=False)
    events = []
    instances = [("a", up[0].url), ("b", up[1].url)]
    name = unique("default-log")
    with chromawal.Client(instances=instances, on_event=events.append, health_interval=0.1,
                          sync_interval=0.1) as client:
        client.take_over_instances("pytest: the default log on session-wide servers")
        client.create_collection(name).add(**batch("dl", 4))
        assert_identical(client, name, 4)
    defaults = [e for e in events if e["type"] == "log_default"]
    assert len(defaults) == 1, events
    files = list((state / "chromawal").glob("log-*.db"))
    assert len(files) == 1
    assert str(files[0]) in defaults[0]["message"]
    assert (state / "chromawal").stat().st_mode & 0o777 == 0o700
    # The same instance set later (in another order): the same log, which still holds the write.
    with chromawal.Client(instances=list(reversed(instances)), sync_interval=0.1) as again:
        log = again.status()["log"]
        assert log["applied"] + log["pending"] >= 2  # the creation and the add
    assert list((state / "chromawal").glob("log-*.db")) == files


def test_async_writes_return_futures_in_call_order(up, postgres):
    import concurrent.futures

    with make_replicated(up, postgres, max_in_flight_writes=4) as client:
        name = unique("async-py")
        coll = client.create_collection(name)
        futures = []
        for i in range(20):
            b = batch("a", 5)
            b["metadatas"] = [{"v": i} for _ in range(5)]
            futures.append(coll.upsert_async(**b))  # the same ids: the last call must win
        bad = coll.add_async(ids=["bad"], embeddings=np.ones((1, DIM - 1), dtype=np.float32))
        gone = coll.delete_async(ids=["a-0"])
        done, not_done = concurrent.futures.wait(futures + [bad, gone], timeout=60)
        assert not not_done
        positions = [f.receipt["position"] for f in futures]
        assert positions == sorted(positions) and len(set(positions)) == len(positions)
        assert all(f.result() is None for f in futures)
        assert all(sorted(f.receipt["applied"]) == ["a", "b"] for f in futures)
        # Refused by the servers (dimension): fails alone, as add() would raise.
        with pytest.raises(chromawal.ChromaError):
            bad.result()
        assert gone.result() == {"deleted": 1}
        got = coll.get(ids=["a-1"], include=["metadatas"])
        assert got["metadatas"] == [{"v": 19}]
        assert coll.count() == 4
        # Invalid input raises at the call; nothing is logged.
        with pytest.raises(chromawal.errors.DuplicateIDError):
            coll.add_async(ids=["x", "x"], embeddings=np.ones((2, DIM), dtype=np.float32))
        assert_identical(client, name, 4)


def test_async_writes_during_an_outage_catch_up(up, postgres):
    a, b = up
    with make_replicated(up, postgres) as client:
        name = unique("async-outage-py")
        coll = client.create_collection(name)
        b.kill9()
        assert wait_for(lambda: not healthy(client, "b"), 30)
        futures = [coll.add_async(**batch(f"o{i}", 4)) for i in range(10)]
        for f in futures:
            assert f.result(timeout=60) is None
            assert f.receipt["applied"] == ["a"]
        b.restart()
        assert wait_for(lambda: healthy(client, "b"), 60)
        assert_identical(client, name, 40)


def test_async_writes_need_the_replicated_client(http):
    coll = http.get_or_create_collection(unique("async-http"))
    with pytest.raises(NotImplementedError):
        coll.add_async(ids=["x"], embeddings=[[1.0, 2.0]])
