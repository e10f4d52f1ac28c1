// libFuzzer target: configuration and URL parsing.
// - client_config::from_env() and validate() with fuzzed values of every CHROMAWAL_* variable
//   (client_config::settings() lists them);
// - chromawal::chroma_client construction (base URL, tenant, database, headers; no I/O) with
//   fuzzed values, and with every instance a parsed configuration names;
// - the PostgreSQL log store's connection string and schema parsing (no I/O either).
// Only chromawal::invalid_argument may escape.
#include <chromawal/chroma_client.hpp>
#include <chromawal/client.hpp>
#include <chromawal/error.hpp>

#include "wal/pg_log_store.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

void make_client(const chromawal::connection_options& o) {
    try {
        chromawal::chroma_client c(o);
        (void)c.options();
    } catch (const chromawal::invalid_argument&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);

    // 1. The environment.
    for (const auto& setting : chromawal::client_config::settings()) {
        const char* name = setting.env;
        if (in.ConsumeBool()) {
            const std::string value = in.ConsumeRandomLengthString(256);
            setenv(name, value.c_str(), 1);
        } else {
            unsetenv(name);
        }
    }
    try {
        const chromawal::client_config c = chromawal::client_config::from_env();
        for (const auto& i : c.instances) make_client(i.connection);
        (void)c.secrets();
        c.validate();
    } catch (const chromawal::invalid_argument&) {
    }

    // 2. One server's connection options, directly.
    chromawal::connection_options o;
    o.base_url = in.ConsumeRandomLengthString(256);
    if (in.ConsumeBool()) o.tenant = in.ConsumeRandomLengthString(80);
    if (in.ConsumeBool()) o.database = in.ConsumeRandomLengthString(80);
    if (in.ConsumeBool()) o.headers.emplace_back(in.ConsumeRandomLengthString(64), in.ConsumeRandomLengthString(64));
    make_client(o);

    // 3. The log store's connection string and schema (parsed at construction, no connection).
    const std::string conninfo = in.ConsumeRandomLengthString(256);
    const std::string schema = in.ConsumeBool() ? in.ConsumeRandomLengthString(80) : std::string("chromawal");
    try {
        chromawal::wal::pg_log_store store(conninfo, schema, 1 + in.ConsumeIntegralInRange<std::size_t>(0, 3));
    } catch (const chromawal::invalid_argument&) {
    }
    return 0;
}
