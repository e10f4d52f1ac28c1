// The kill -9 torture test's writer: streams the deterministic operation mix of torture_model.hpp
// through chromawal::client, recording every operation in DIR/intents before the call and in
// DIR/acks once the call returned (both fsync'd). It runs until killed (or --max-ops), and a
// restarted writer continues the stream after the highest operation number in DIR/intents.
//
// Usage: torture_writer --dir DIR --instances a=URL,b=URL --log-url URL --log-schema S --seed N
//                       [--max-ops N]
#include "torture_model.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>

namespace cw = chromawal;
using namespace std::chrono_literals;

namespace {

// An append-only file where each line is on disk before append() returns.
class durable_file {
public:
    explicit durable_file(const std::string& path) {
        fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd_ < 0) throw std::runtime_error("cannot open " + path);
        // A kill during a write can leave a partial last line: cut it, so that the next line
        // starts on a line of its own (readers ignore a line without '\n' anyway).
        struct stat st {};
        if (::fstat(fd_, &st) == 0 && st.st_size > 0) {
            const int rfd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
            std::string all(static_cast<std::size_t>(st.st_size), '\0');
            const ssize_t n = rfd < 0 ? -1 : ::pread(rfd, all.data(), all.size(), 0);
            if (rfd >= 0) ::close(rfd);
            if (n == st.st_size && all.back() != '\n') {
                const auto nl = all.rfind('\n');
                if (::ftruncate(fd_, nl == std::string::npos ? 0 : static_cast<off_t>(nl + 1)) != 0) {
                    throw std::runtime_error("cannot truncate " + path);
                }
            }
        }
    }
    ~durable_file() { ::close(fd_); }
    durable_file(const durable_file&) = delete;
    durable_file& operator=(const durable_file&) = delete;

    void append(const std::string& line) {
        const std::string s = line + "\n";
        std::size_t done = 0;
        while (done < s.size()) {
            const ssize_t n = ::write(fd_, s.data() + done, s.size() - done);
            if (n < 0) throw std::runtime_error("write failed");
            done += static_cast<std::size_t>(n);
        }
        if (::fsync(fd_) != 0) throw std::runtime_error("fsync failed");
    }

private:
    int fd_ = -1;
};

struct args {
    std::string dir, instances, log_url, log_schema = "chromawal";
    std::uint64_t seed = 1;
    long long max_ops = -1;
};

args parse(int argc, char** argv) {
    args a;
    for (int i = 1; i < argc; ++i) {
        const std::string k = argv[i];
        if (i + 1 >= argc) throw std::runtime_error("missing value for " + k);
        const std::string v = argv[++i];
        if (k == "--dir") {
            a.dir = v;
        } else if (k == "--instances") {
            a.instances = v;
        } else if (k == "--log-url") {
            a.log_url = v;
        } else if (k == "--log-schema") {
            a.log_schema = v;
        } else if (k == "--seed") {
            a.seed = std::stoull(v);
        } else if (k == "--max-ops") {
            a.max_ops = std::stoll(v);
        } else {
            throw std::runtime_error("unknown option " + k);
        }
    }
    if (a.dir.empty() || a.instances.empty()) throw std::runtime_error("--dir and --instances are required");
    return a;
}

cw::client_config make_config(const args& a) {
    cw::client_config c;
    std::size_t start = 0;
    while (start < a.instances.size()) {
        const auto comma = a.instances.find(',', start);
        const std::string item =
            a.instances.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        start = comma == std::string::npos ? a.instances.size() : comma + 1;
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

void execute(const cw::collection& coll, const torture::op& o) {
    using torture::op_kind;
    if (o.kind == op_kind::delete_ids || o.kind == op_kind::delete_where) {
        cw::delete_options d;
        if (o.kind == op_kind::delete_ids) {
            d.ids = o.ids;
        } else {
            d.where = cw::where_filter::eq("grp", o.group);
        }
        coll.delete_records(d);
        return;
    }
    std::vector<float> flat;
    cw::record_set rs;
    rs.ids = o.ids;
    for (const auto& id : o.ids) {
        auto c = torture::content_of(id, o.j);
        rs.documents.emplace_back(std::move(c.document));
        rs.metadatas.emplace_back(std::move(c.metadata));
        flat.insert(flat.end(), c.embedding.begin(), c.embedding.end());
    }
    rs.embeddings = cw::embedding_view(flat, torture::dim);
    if (o.kind == op_kind::add) {
        coll.add(rs);
    } else if (o.kind == op_kind::upsert) {
        coll.upsert(rs);
    } else {
        coll.update(rs);
    }
}

// Retries `f` on chromawal errors until it succeeds or `limit` passes (start-up only: an
// instance may be restarting while the writer starts).
template <typename F>
auto with_retry(F&& f, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (true) {
        try {
            return f();
        } catch (const cw::error& e) {
            if (std::chrono::steady_clock::now() > deadline) throw;
            std::cerr << "torture_writer: start-up: " << e.what() << " (retrying)\n";
            std::this_thread::sleep_for(100ms);
        }
    }
}

int run(const args& a) {
    const std::string intents_path = a.dir + "/intents", acks_path = a.dir + "/acks";
    durable_file intents(intents_path);  // opening cuts a partial last line
    durable_file acks(acks_path);
    torture::model m = torture::load(intents_path, acks_path);
    std::int64_t j = m.max_op + 1;  // fresh numbering: never reuse an operation that may be logged
    std::cerr << "torture_writer: pid " << ::getpid() << " starts at op " << j << " (" << m.acked << " acknowledged, "
              << m.unacked_ops.size() << " unacknowledged before)\n";

    cw::client client = with_retry([&] { return cw::client(make_config(a)); }, 60s);
    std::vector<cw::collection> colls;
    for (const char* name : torture::collection_names) {
        colls.push_back(with_retry([&] { return client.get_or_create_collection(name); }, 60s));
    }
    for (long long done = 0; a.max_ops < 0 || done < a.max_ops; ++done, ++j) {
        const torture::op o = torture::generate(a.seed, j, m);
        const std::string line = torture::format_line(o);
        intents.append(line);
        bool ok = false;
        try {
            execute(colls[static_cast<std::size_t>(o.coll)], o);
            ok = true;
        } catch (const cw::error& e) {
            std::cerr << "torture_writer: op " << o.j << " (" << torture::kind_name(o.kind) << ") failed: " << e.what()
                      << "\n";
        }
        if (ok) acks.append(line);
        m.apply(o, ok);
        if (!ok) std::this_thread::sleep_for(20ms);  // do not spin while an instance is away
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(parse(argc, argv));
    } catch (const std::exception& e) {
        std::cerr << "torture_writer: fatal: " << e.what() << "\n";
        return 2;
    }
}
