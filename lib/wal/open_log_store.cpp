#include "wal/open_log_store.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "chromawal/error.hpp"
#include "wal/pg_log_store.hpp"
#include "wal/sqlite_log_store.hpp"

namespace chromawal::wal {

namespace {

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v == nullptr ? std::string() : std::string(v);
}

/// mkdir -p with mode 0700 for what it creates.
void make_dirs(const std::string& dir) {
    std::string partial;
    std::size_t at = 0;
    while (at <= dir.size()) {
        const std::size_t slash = dir.find('/', at);
        const std::size_t end = slash == std::string::npos ? dir.size() : slash;
        partial = dir.substr(0, end);
        at = end + 1;
        if (partial.empty()) continue;
        if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
            throw chromawal::invalid_argument(
                fmt::format("the default log's directory {} could not be created: {}", partial, std::strerror(errno)));
        }
        if (slash == std::string::npos) break;
    }
}

}  // namespace

std::string sqlite_path(const std::string& url) {
    constexpr std::string_view scheme = "sqlite:";
    if (url.compare(0, scheme.size(), scheme) != 0) return {};
    std::string rest = url.substr(scheme.size());
    if (rest.compare(0, 2, "//") == 0) {
        // sqlite:///abs/path: an empty authority. sqlite://host/path names a host: refuse it.
        rest = rest.substr(2);
        if (rest.empty() || rest[0] != '/') {
            throw chromawal::invalid_argument(
                "log_url: an SQLite log URL is sqlite:///absolute/path.db or sqlite:relative/path.db (a host is "
                "not allowed: the file must be on this machine)");
        }
    }
    if (rest.empty() || rest.back() == '/') {
        throw chromawal::invalid_argument("log_url: the SQLite log URL names no file (expected sqlite:///abs/path.db)");
    }
    if (rest.find('?') != std::string::npos) {
        throw chromawal::invalid_argument("log_url: the SQLite log URL takes no options ('?...')");
    }
    return rest;
}

std::string default_sqlite_path(const std::vector<std::string>& instance_urls) {
    std::string base = env("XDG_STATE_HOME");
    if (base.empty() || base[0] != '/') {
        const std::string home = env("HOME");
        if (home.empty()) {
            throw chromawal::invalid_argument(
                "no log is configured and neither XDG_STATE_HOME nor HOME is set, so the default SQLite log has "
                "no place: set log_url (sqlite:///path/to/log.db or a PostgreSQL URI)");
        }
        base = home + "/.local/state";
    }
    std::vector<std::string> urls = instance_urls;
    for (auto& u : urls) {
        while (!u.empty() && u.back() == '/') u.pop_back();
    }
    std::sort(urls.begin(), urls.end());
    std::uint64_t h = 14695981039346656037ULL;
    for (const auto& u : urls) {
        for (char c : u) {
            h ^= static_cast<unsigned char>(c);
            h *= 1099511628211ULL;
        }
        h ^= '\n';
        h *= 1099511628211ULL;
    }
    return fmt::format("{}/chromawal/log-{:016x}.db", base, h);
}

bool libpq_environment() {
    for (const char* name : {"PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGSERVICE",
                             "PGSERVICEFILE", "PGPASSFILE", "PGSSLMODE", "PGOPTIONS"}) {
        if (!env(name).empty()) return true;
    }
    return false;
}

opened_store open_log_store(const client_config& config, std::size_t pg_connections) {
    opened_store out;
    std::string url = config.log_url;
    if (url.empty()) url = env("CHROMAWAL_LOG_URL");
    if (url.empty() && !libpq_environment()) {
        std::vector<std::string> urls;
        urls.reserve(config.instances.size());
        for (const auto& i : config.instances) urls.push_back(i.connection.base_url);
        const std::string path = default_sqlite_path(urls);
        make_dirs(path.substr(0, path.find_last_of('/')));
        out.store = std::make_unique<sqlite_log_store>(path);
        out.default_note = fmt::format(
            "no log configured (log_url, CHROMAWAL_LOG_URL, PG* variables): using the embedded SQLite log {} "
            "(one host only; set log_url to a PostgreSQL URI for writers on several hosts)",
            path);
        return out;
    }
    if (std::string path = sqlite_path(url); !path.empty()) {
        out.store = std::make_unique<sqlite_log_store>(path);
        return out;
    }
    out.store = std::make_unique<pg_log_store>(url, config.log_schema, pg_connections);
    return out;
}

}  // namespace chromawal::wal
