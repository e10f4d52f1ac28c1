#include <chromawal/error.hpp>

#include <fmt/format.h>

namespace chromawal {

namespace {
std::string describe(int status, const std::string& name, const std::string& message, const std::string& context) {
    std::string prefix = context.empty() ? std::string() : context + ": ";
    if (name.empty()) return fmt::format("{}HTTP {}: {}", prefix, status, message);
    return fmt::format("{}HTTP {} {}: {}", prefix, status, name, message);
}
}  // namespace

server_rejected::server_rejected(int status, std::string error_name, std::string server_message,
                                 const std::string& context, std::string trace_id)
    : error(describe(status, error_name, server_message, context)),
      status_(status),
      name_(std::move(error_name)),
      message_(std::move(server_message)),
      trace_id_(std::move(trace_id)) {}

server_error::server_error(int status, std::string error_name, std::string server_message, const std::string& context,
                           std::string trace_id)
    : error(describe(status, error_name, server_message, context)),
      status_(status),
      name_(std::move(error_name)),
      message_(std::move(server_message)),
      trace_id_(std::move(trace_id)) {}

}  // namespace chromawal
