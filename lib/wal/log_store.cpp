#include "wal/log_store.hpp"

namespace chromawal::wal {

const char* to_string(op_kind op) noexcept {
    switch (op) {
        case op_kind::add:
            return "add";
        case op_kind::upsert:
            return "upsert";
        case op_kind::update:
            return "update";
        case op_kind::delete_records:
            return "delete_records";
        case op_kind::create_collection:
            return "create_collection";
        case op_kind::delete_collection:
            return "delete_collection";
        case op_kind::modify_collection:
            return "modify_collection";
        case op_kind::create_tenant:
            return "create_tenant";
        case op_kind::create_database:
            return "create_database";
        case op_kind::delete_database:
            return "delete_database";
    }
    return "unknown";
}

const char* to_string(entry_state s) noexcept {
    switch (s) {
        case entry_state::pending:
            return "pending";
        case entry_state::applied:
            return "applied";
        case entry_state::rejected:
            return "rejected";
        case entry_state::abandoned:
            return "abandoned";
        case entry_state::dead:
            return "dead";
    }
    return "unknown";
}

namespace {
[[noreturn]] void cannot_copy() { throw chromawal::invalid_argument("this log store cannot be copied"); }
}  // namespace

log_rows log_store::export_rows() { cannot_copy(); }

std::vector<entry_row> log_store::export_entries(std::int64_t, std::int64_t, std::size_t, std::size_t) {
    cannot_copy();
}

void log_store::import_rows(const log_rows&, import_step, const std::string&) { cannot_copy(); }

}  // namespace chromawal::wal
