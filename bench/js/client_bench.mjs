// The client benchmark workload of bench/client_bench.cpp, through the official Chroma
// JavaScript client (npm chromadb, the version the server comes from: 3.5.0).
//
//   node bench/js/client_bench.mjs --url http://127.0.0.1:PORT [--records 10000] [--dim 384]
//        [--batch 100] [--queries 200] [--collection NAME]
//
// Same data as the C++ side (xorshift32, same seeds and order), built before the clock
// starts; CPU time is process.cpuUsage() (user + system, all threads of this process).
// Prints the same RESULT / CHECK lines as chromawal_client_bench, with client=js.
//
// Which chromadb package is used (the first that exists):
//   1. $CHROMAWAL_CHROMADB_NODE_MODULES/chromadb
//   2. bench/js/node_modules/chromadb   (npm install --no-audit --no-fund --prefix bench/js)
//   3. ${CHROMAWAL_CACHE_DIR:-~/.cache/chromawal}/chroma-3.5.0/node_modules/chromadb
//      (installed by scripts/chroma.sh install, the package the test server runs from)
// Its version must be 3.5.0.

import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const EXPECTED_VERSION = "3.5.0";
const RECORD_SEED = 0x9e3779b9;
const QUERY_SEED = 0x85ebca6b;
const TOPICS = 16;

function die(message) {
  process.stderr.write(`client_bench.mjs: ${message}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const o = {
    url: "http://127.0.0.1:8000",
    records: 10000,
    dim: 384,
    batch: 100,
    queries: 200,
    collection: "chromawal_bench_js",
    serverPid: 0,
  };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) die(`missing value for ${flag}`);
    switch (flag) {
      case "--url":
        o.url = value;
        break;
      case "--collection":
        o.collection = value;
        break;
      case "--server-pid":
        o.serverPid = Number(value);
        if (!Number.isInteger(o.serverPid) || o.serverPid <= 0) die(`--server-pid needs a pid, got '${value}'`);
        break;
      case "--records":
      case "--dim":
      case "--batch":
      case "--queries": {
        const n = Number(value);
        if (!Number.isInteger(n) || n <= 0) die(`${flag} needs a positive integer, got '${value}'`);
        o[flag.slice(2)] = n;
        break;
      }
      default:
        die(`unknown argument ${flag}`);
    }
  }
  return o;
}

function chromadbDir() {
  const here = dirname(fileURLToPath(import.meta.url));
  const cache = process.env.CHROMAWAL_CACHE_DIR || join(process.env.HOME || homedir(), ".cache", "chromawal");
  const candidates = [];
  if (process.env.CHROMAWAL_CHROMADB_NODE_MODULES) candidates.push(process.env.CHROMAWAL_CHROMADB_NODE_MODULES);
  candidates.push(join(here, "node_modules"), join(cache, `chroma-${EXPECTED_VERSION}`, "node_modules"));
  for (const nm of candidates) {
    if (existsSync(join(nm, "chromadb", "package.json"))) return join(nm, "chromadb");
  }
  die(
    `npm package chromadb not found in any of: ${candidates.join(", ")}. ` +
      `Run 'scripts/chroma.sh install' or 'npm install --no-audit --no-fund --prefix bench/js'.`,
  );
}

async function loadChromadb() {
  const dir = chromadbDir();
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  if (pkg.version !== EXPECTED_VERSION) die(`${dir} is chromadb ${pkg.version}, expected ${EXPECTED_VERSION}`);
  const entry = pkg.exports?.["."]?.import?.default ?? "dist/chromadb.mjs";
  const mod = await import(pathToFileURL(join(dir, entry)).href);
  return { mod, dir, version: pkg.version };
}

// xorshift32, identical to bench/client_bench.cpp.
class Xorshift32 {
  constructor(seed) {
    this.s = seed >>> 0 || 1;
  }
  next() {
    let s = this.s;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.s = s >>> 0;
    return this.s;
  }
  // [-1, 1): exact in float32.
  signedUnit() {
    return (this.next() >>> 8) / 8388608 - 1;
  }
  // [0, 1)
  unit() {
    return (this.next() >>> 8) / 16777216;
  }
}

function buildData(o) {
  const rng = new Xorshift32(RECORD_SEED);
  const batches = [];
  for (let first = 0; first < o.records; first += o.batch) {
    const n = Math.min(o.batch, o.records - first);
    const b = { ids: [], embeddings: [], documents: [], metadatas: [] };
    for (let i = first; i < first + n; i++) {
      const e = new Array(o.dim);
      for (let d = 0; d < o.dim; d++) e[d] = rng.signedUnit();
      const score = rng.unit();
      const topic = rng.next() % TOPICS;
      b.ids.push(`id-${i}`);
      b.embeddings.push(e);
      b.documents.push(`document ${i} about topic ${topic}`);
      b.metadatas.push({ source: "bench", index: i, score, topic: `t${topic}` });
    }
    batches.push(b);
  }
  const qrng = new Xorshift32(QUERY_SEED);
  const queries = [];
  for (let q = 0; q < o.queries; q++) {
    const e = new Array(o.dim);
    for (let d = 0; d < o.dim; d++) e[d] = qrng.signedUnit();
    queries.push([e]);
  }
  // The generators' final states: equal on both sides iff both generated the same data.
  const digest = `${rng.s.toString(16).padStart(8, "0")}${qrng.s.toString(16).padStart(8, "0")}`;
  return { batches, queries, digest };
}

// User + system CPU seconds of another process (the server), from /proc/PID/stat; -1 when
// unreadable. Clock ticks per second: $CHROMAWAL_CLK_TCK (getconf CLK_TCK), default 100.
function processCpuSeconds(pid) {
  if (!pid) return -1;
  let stat;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return -1;
  }
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // f[0] is field 3 (state); utime and stime are fields 14 and 15.
  const ticks = Number(f[11]) + Number(f[12]);
  return Number.isFinite(ticks) ? ticks / Number(process.env.CHROMAWAL_CLK_TCK || 100) : -1;
}

// Waits until the server is idle: under 0.1 of a core in every 200 ms window for a second in a
// row (Chroma goes on indexing after add has returned), at most 90 s. No wait without a pid.
async function waitIdle(pid) {
  if (!pid) return;
  const t0 = Date.now();
  let quietSince = t0;
  let c0 = processCpuSeconds(pid);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const c1 = processCpuSeconds(pid);
    if (c0 < 0 || c1 < 0) return;
    if ((c1 - c0) / 0.2 >= 0.1) quietSince = Date.now();
    c0 = c1;
    if (Date.now() - quietSince >= 1000) return;
    if (Date.now() - t0 > 90000) {
      process.stderr.write("client_bench.mjs: server still busy after 90 s; measuring anyway\n");
      return;
    }
  }
}

function phaseTimer(serverPid) {
  const server0 = processCpuSeconds(serverPid);
  const wall0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  return (phase, n) => {
    const wall = Number(process.hrtime.bigint() - wall0) / 1e9;
    const c = process.cpuUsage(cpu0);
    const server1 = processCpuSeconds(serverPid);
    const cpu = (c.user + c.system) / 1e6;
    let line =
      `RESULT client=js phase=${phase} records=${n} wall_s=${wall.toFixed(6)} ` +
      `records_per_s=${(n / wall).toFixed(2)} cpu_s=${cpu.toFixed(6)} ` +
      `cpu_us_per_record=${((cpu * 1e6) / n).toFixed(3)}`;
    if (server0 >= 0 && server1 >= 0) {
      line += ` server_cpu_s=${(server1 - server0).toFixed(2)} server_cpu_us_per_record=${(((server1 - server0) * 1e6) / n).toFixed(1)}`;
    }
    process.stdout.write(line + "\n");
  };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const { mod, dir } = await loadChromadb();
  const { ChromaClient } = mod;
  if (process.env.CHROMAWAL_BENCH_VERBOSE) process.stderr.write(`using chromadb from ${dir}\n`);

  const { batches, queries, digest } = buildData(o);

  const u = new URL(o.url);
  const ssl = u.protocol === "https:";
  const client = new ChromaClient({
    host: u.hostname,
    port: u.port ? Number(u.port) : ssl ? 443 : 80,
    ssl,
  });
  try {
    await client.deleteCollection({ name: o.collection }); // left over from an interrupted run
  } catch (e) {
    const notFound = (mod.ChromaNotFoundError && e instanceof mod.ChromaNotFoundError) || e?.name === "ChromaNotFoundError";
    if (!notFound) throw e;
  }
  // embeddingFunction: null = embeddings are always given; no default embedding function
  // (which would need @chroma-core/default-embed and a model download).
  const collection = await client.createCollection({ name: o.collection, embeddingFunction: null });

  await waitIdle(o.serverPid);
  let t = phaseTimer(o.serverPid);
  for (const b of batches) {
    await collection.add(b);
  }
  t("add", o.records);

  const count = await collection.count();

  let hits = 0;
  await waitIdle(o.serverPid);
  t = phaseTimer(o.serverPid);
  for (let q = 0; q < queries.length; q++) {
    const r = await collection.query({ queryEmbeddings: queries[q], nResults: 10 });
    if (r.ids.length === 1) {
      hits += r.ids[0].length;
    }
  }
  t("query", o.queries);

  await client.deleteCollection({ name: o.collection });
  process.stdout.write(`CHECK client=js count=${count} hits=${hits} data=${digest}\n`);
  if (count !== o.records || hits !== o.queries * Math.min(10, o.records)) {
    die(`unexpected count ${count} or hits ${hits}`);
  }
}

main().catch((e) => die(e?.stack || String(e)));
