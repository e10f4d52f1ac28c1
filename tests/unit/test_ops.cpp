// The operators' pieces that need no server: the Prometheus exposition of a status built by
// hand (every family with HELP and TYPE, escaped labels, histograms), the counters' snapshot,
// the webhook's JSON body (Slack's "text", no secret), and the two settings.
#include <catch2/catch.hpp>
#include <chromawal/client.hpp>

#include "ops/alerts.hpp"
#include "ops/exposition.hpp"
#include "ops/metrics.hpp"

#include <algorithm>
#include <chrono>
#include <set>
#include <sstream>
#include <string>

namespace cw = chromawal;
namespace cd = chromawal::detail;

namespace {
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
}  // namespace

TEST_CASE("exposition: every family has HELP and TYPE, samples follow their family", "[ops]") {
    cw::status_report s;
    cw::instance_status i;
    i.name = "a\"b\\c";
    i.healthy = true;
    i.lag_entries = 3;
    s.instances.push_back(i);
    cd::metrics_registry m({"a\"b\\c"});
    m.count_write(cd::write_outcome::ok);
    m.count_write(cd::write_outcome::ok);
    m.count_apply(0, 0, std::chrono::milliseconds(3));
    m.observe_append(std::chrono::microseconds(700));
    m.observe_append(std::chrono::seconds(20));  // beyond the last bound: only in +Inf
    s.metrics = m.snapshot();
    const std::string text = cd::prometheus_exposition(s);
    INFO(text);
    CHECK(text == s.to_prometheus());  // one exposition

    std::set<std::string> helped, typed;
    std::string current;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        REQUIRE_FALSE(line.empty());
        if (line.rfind("# HELP ", 0) == 0) {
            helped.insert(line.substr(7, line.find(' ', 7) - 7));
        } else if (line.rfind("# TYPE ", 0) == 0) {
            current = line.substr(7, line.find(' ', 7) - 7);
            typed.insert(current);
        } else {
            INFO(line);
            CHECK(line.rfind(current, 0) == 0);  // a sample of the family just typed
        }
    }
    CHECK(helped == typed);
    CHECK(typed.size() >= 18);
    CHECK(contains(text, "chromawal_instance_up{chroma_instance=\"a\\\"b\\\\c\"} 1\n"));
    CHECK(contains(text, "chromawal_writes_total{outcome=\"ok\"} 2\n"));
    CHECK(contains(text, "# TYPE chromawal_log_append_duration_seconds histogram\n"));
    CHECK(contains(text, "chromawal_log_append_duration_seconds_bucket{le=\"0.001\"} 1\n"));
    CHECK(contains(text, "chromawal_log_append_duration_seconds_bucket{le=\"10\"} 1\n"));
    CHECK(contains(text, "chromawal_log_append_duration_seconds_bucket{le=\"+Inf\"} 2\n"));
    CHECK(contains(text, "chromawal_log_append_duration_seconds_count 2\n"));
    CHECK(contains(text, "chromawal_apply_duration_seconds_count{chroma_instance=\"a\\\"b\\\\c\"} 1\n"));
}

TEST_CASE("alerts: the webhook body is Slack-compatible JSON without a configured secret", "[ops]") {
    const cw::event e{cw::event::kind::instance_down, "b", "request to http://u:pw-XYZ@h:1 failed"};
    const std::string body = cd::alert_queue::body(e, 1.5, {"pw-XYZ"});
    INFO(body);
    CHECK(body.rfind("{\"text\":\"chromawal: instance_down on instance 'b': request to", 0) == 0);
    CHECK(contains(body, "\"event\":\"instance_down\""));
    CHECK_FALSE(contains(body, "pw-XYZ"));
}

TEST_CASE("settings: metrics_address and alert_webhook_url, the URL a secret", "[ops][config]") {
    const std::string url = "https://hooks.example/services/T0/B0/tok-SECRET";
    auto c = cw::client_config::from_settings(
        {{"instances", "a=http://h:1"}, {"metrics_address", "127.0.0.1:0"}, {"alert_webhook_url", url}});
    CHECK(c.metrics_address == "127.0.0.1:0");
    CHECK(c.alert_webhook_url == url);
    CHECK_NOTHROW(c.validate());
    const auto secrets = c.secrets();
    CHECK(std::find(secrets.begin(), secrets.end(), url) != secrets.end());
    for (const auto& s : cw::client_config::settings()) {
        if (std::string(s.name) == "alert_webhook_url") CHECK(s.secret);
        if (std::string(s.name) == "metrics_address") CHECK_FALSE(s.secret);
    }
    c.alert_webhook_url = "ftp://x/tok-SECRET";
    CHECK_THROWS_WITH(c.validate(), Catch::Contains("alert_webhook_url") && !Catch::Contains("tok-SECRET"));
    c.alert_webhook_url.clear();
    c.metrics_address = "9464";
    CHECK_THROWS_WITH(c.validate(), Catch::Contains("metrics_address"));
}
