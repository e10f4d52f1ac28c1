// The concurrent-writers test's writer process: several threads sharing one chromawal::client
// write conflicting upserts, updates, adds and deletes (by ids and by where) on a small shared
// id space of the same collections, so that writers in several processes overlap on every id.
//
// Prints "progress N" (operations finished by this process) every 10 operations, and at the end
// "done ok=N failed=M" and "max_position COLLECTION P" for the highest log position it was given
// per collection. Exits 0 when every thread finished (failed operations are counted, not fatal).
//
// Usage: concurrent_writer --instances a=URL,b=URL --log-url URL --log-schema S --seed N
//                          --process P [--threads 4] [--ops 40] [--ids 32]
//                          [--collections conc-0,conc-1]
#include <chromawal/chromawal.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace cw = chromawal;
using namespace std::chrono_literals;

namespace {

struct args {
    std::string instances, log_url, log_schema = "chromawal";
    std::vector<std::string> collections = {"conc-0", "conc-1"};
    std::uint64_t seed = 1;
    int process = 0, threads = 4, ops = 40, ids = 32;
};

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= s.size()) {
        const auto p = s.find(sep, start);
        out.push_back(s.substr(start, p == std::string::npos ? std::string::npos : p - start));
        if (p == std::string::npos) break;
        start = p + 1;
    }
    return out;
}

args parse(int argc, char** argv) {
    args a;
    for (int i = 1; i < argc; ++i) {
        const std::string k = argv[i];
        if (i + 1 >= argc) throw std::runtime_error("missing value for " + k);
        const std::string v = argv[++i];
        if (k == "--instances") {
            a.instances = v;
        } else if (k == "--log-url") {
            a.log_url = v;
        } else if (k == "--log-schema") {
            a.log_schema = v;
        } else if (k == "--seed") {
            a.seed = std::stoull(v);
        } else if (k == "--process") {
            a.process = std::stoi(v);
        } else if (k == "--threads") {
            a.threads = std::stoi(v);
        } else if (k == "--ops") {
            a.ops = std::stoi(v);
        } else if (k == "--ids") {
            a.ids = std::stoi(v);
        } else if (k == "--collections") {
            a.collections = split(v, ',');
        } else {
            throw std::runtime_error("unknown option " + k);
        }
    }
    if (a.instances.empty() || a.threads < 1 || a.ops < 0 || a.ids < 8) throw std::runtime_error("bad arguments");
    return a;
}

cw::client_config make_config(const args& a) {
    cw::client_config c;
    for (const auto& item : split(a.instances, ',')) {
        const auto eq = item.find('=');
        cw::instance_config ic;
        ic.name = item.substr(0, eq);
        ic.connection.base_url = item.substr(eq + 1);
        ic.connection.request_timeout = 3s;
        ic.connection.connect_timeout = 1s;
        ic.role = c.instances.empty() ? cw::instance_role::primary : cw::instance_role::replica;
        c.instances.push_back(std::move(ic));
    }
    c.log_url = a.log_url;
    c.log_schema = a.log_schema;
    c.health_interval = 100ms;
    c.sync_interval = 100ms;
    c.record_apply_history = true;
    return c;
}

struct shared_state {
    std::mutex out_mutex;
    std::atomic<long> done{0}, ok{0}, failed{0};
    std::mutex pos_mutex;
    std::map<std::string, std::int64_t> max_position;
};

// `n` distinct ids of the shared space.
std::vector<std::string> pick_ids(std::mt19937_64& r, int space, std::size_t n) {
    std::vector<int> all(static_cast<std::size_t>(space));
    for (int i = 0; i < space; ++i) all[static_cast<std::size_t>(i)] = i;
    std::vector<std::string> out;
    for (std::size_t k = 0; k < n; ++k) {
        std::swap(all[k], all[k + r() % (all.size() - k)]);
        out.push_back("k" + std::to_string(all[k]));
    }
    return out;
}

void writer_thread(const args& a, int thread, std::vector<cw::collection>& colls, shared_state& st) {
    for (int i = 0; i < a.ops; ++i) {
        std::mt19937_64 r(a.seed * 1000003ull + static_cast<std::uint64_t>(a.process) * 10007ull +
                          static_cast<std::uint64_t>(thread) * 101ull + static_cast<std::uint64_t>(i) * 7919ull);
        const std::size_t c = r() % colls.size();
        const auto& coll = colls[c];
        const std::string tag =
            "p" + std::to_string(a.process) + "t" + std::to_string(thread) + "i" + std::to_string(i);
        const auto roll = r() % 100;
        try {
            cw::write_receipt receipt;
            if (roll < 65) {
                // upsert / update / add of 1..6 records with this operation's content
                const std::size_t n = 1 + r() % 6;
                cw::record_set rs;
                rs.ids = pick_ids(r, a.ids, n);
                std::vector<float> flat;
                for (std::size_t k = 0; k < n; ++k) {
                    rs.documents.emplace_back("doc " + rs.ids[k] + " by " + tag);
                    rs.metadatas.emplace_back(
                        cw::metadata_map{{"bucket", static_cast<std::int64_t>(r() % 4)}, {"by", tag}});
                    for (int d = 0; d < 4; ++d) flat.push_back(static_cast<float>(r() % 1000) / 999.0f);
                }
                rs.embeddings = cw::embedding_view(flat, 4);
                if (roll < 35) {
                    receipt = coll.upsert(rs);
                } else if (roll < 55) {
                    receipt = coll.update(rs);
                } else {
                    receipt = coll.add(rs);
                }
            } else if (roll < 88) {
                cw::delete_options d;
                d.ids = pick_ids(r, a.ids, 1 + r() % 4);
                receipt = coll.delete_records(d);
            } else {
                cw::delete_options d;
                d.where = cw::where_filter::eq("bucket", static_cast<std::int64_t>(r() % 4));
                receipt = coll.delete_records(d);
            }
            ++st.ok;
            std::lock_guard<std::mutex> lock(st.pos_mutex);
            auto& p = st.max_position[coll.name()];
            p = std::max(p, receipt.position);
        } catch (const cw::error& e) {
            ++st.failed;
            std::lock_guard<std::mutex> lock(st.out_mutex);
            std::cerr << "concurrent_writer: " << tag << " failed: " << e.what() << "\n";
        }
        const long done = ++st.done;
        if (done % 10 == 0) {
            std::lock_guard<std::mutex> lock(st.out_mutex);
            std::cout << "progress " << done << std::endl;
        }
    }
}

int run(const args& a) {
    cw::client client(make_config(a));
    std::vector<cw::collection> colls;
    for (const auto& name : a.collections) {
        // The test creates the collections first; this is a handle without I/O.
        colls.push_back(client.collection_by_name(name));
    }
    shared_state st;
    std::vector<std::thread> threads;
    for (int t = 0; t < a.threads; ++t) {
        threads.emplace_back([&, t] { writer_thread(a, t, colls, st); });
    }
    for (auto& t : threads) t.join();
    std::lock_guard<std::mutex> lock(st.out_mutex);
    std::cout << "progress " << st.done.load() << "\n";
    for (const auto& [name, p] : st.max_position) std::cout << "max_position " << name << " " << p << "\n";
    std::cout << "done ok=" << st.ok.load() << " failed=" << st.failed.load() << std::endl;
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(parse(argc, argv));
    } catch (const std::exception& e) {
        std::cerr << "concurrent_writer: fatal: " << e.what() << std::endl;
        return 2;
    }
}
