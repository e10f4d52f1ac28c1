"""Tenants and databases on both clients (chromadb's AdminClient calls and set_tenant /
set_database), against real servers; on the replicated client they go through the log and reach
every instance."""

from typing import Any, List

import pytest

import chromawal
from chromawal.errors import NotFoundError

from conftest import ChromaServer, unique


def _db(prefix: str) -> str:
    return unique(prefix).replace("_", "-")


def test_database_calls_and_set_database(client: Any) -> None:
    db = _db("db")
    client.create_database(db)
    assert client.get_database(db)["name"] == db
    names = [d["name"] for d in client.list_databases()]
    assert db in names
    if isinstance(client, chromawal.Client):  # its own record database is left out
        assert "chromawal_meta" not in names
    with pytest.raises(Exception, match=f"Database \\[{db}\\] already exists"):
        client.create_database(db)

    before = client.get_or_create_collection("kept-in-default")
    client.set_database(db)
    assert client.database == db
    inside = client.create_collection("inside")
    inside.add(ids=["a", "b"], embeddings=[[1.0, 2.0], [3.0, 4.0]])
    assert inside.count() == 2
    assert [c.name for c in client.list_collections()] == ["inside"]
    # A collection obtained before keeps its database.
    assert before.count() == 0
    before.add(ids=["z"], embeddings=[[0.0, 1.0]])

    client.set_database("default_database")
    assert "inside" not in [c.name for c in client.list_collections()]
    assert client.get_collection("kept-in-default").count() == 1
    client.delete_collection("kept-in-default")
    client.delete_database(db)
    with pytest.raises(NotFoundError):
        client.get_database(db)
    with pytest.raises(NotFoundError):
        client.set_database(db)
    assert client.database == "default_database"


def test_tenant_calls(client: Any) -> None:
    tenant = _db("tenant")
    client.create_tenant(tenant)
    assert client.get_tenant(tenant)["name"] == tenant
    client.create_database("db-of-tenant", tenant=tenant)
    client.set_tenant(tenant, "db-of-tenant")
    assert (client.tenant, client.database) == (tenant, "db-of-tenant")
    c = client.create_collection("tenant-coll")
    c.add(ids=["x"], embeddings=[[1.0, 1.0]])
    assert c.count() == 1
    client.delete_collection("tenant-coll")
    client.set_tenant("default_tenant", "default_database")
    with pytest.raises(NotFoundError):
        client.get_tenant(_db("missing"))


def test_replicated_databases_reach_every_instance(replicated: chromawal.Client, servers: List[ChromaServer]) -> None:
    db = _db("everywhere")
    replicated.create_database(db)
    replicated.set_database(db)
    coll = replicated.create_collection("spread")
    coll.add(ids=[str(i) for i in range(5)], embeddings=[[float(i), 1.0] for i in range(5)])
    for s in servers:
        direct = chromawal.HttpClient("127.0.0.1", s.port, database=db)
        assert direct.get_collection("spread").count() == 5
    replicated.set_database("default_database")
    replicated.delete_database(db)
    for s in servers:
        with pytest.raises(NotFoundError):
            chromawal.HttpClient("127.0.0.1", s.port).get_database(db)
