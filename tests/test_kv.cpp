// The state machine's semantics, exactly the seed's, plus client dedup.
#include <catch2/catch.hpp>
#include <cstdio>

#include "raft/kv.h"
#include "support.h"

using namespace raftkv;
using namespace raftkv::testing;

namespace {
Command with_id(Command c, int client, int64_t seq) {
  c.client = client;
  c.seq = seq;
  return c;
}
}  // namespace

TEST_CASE("KV store follows the seed's put/get/delete semantics", "[kv]") {
  KvStore kv;
  // The seed's test sequence.
  CHECK(kv.apply(with_id(put("x", "hello"), 1, 1)) == Result{Status::Ok, ""});
  CHECK(kv.apply(with_id(get("x"), 1, 2)) == Result{Status::Ok, "hello"});
  CHECK(kv.apply(with_id(put("x", "world"), 1, 3)) == Result{Status::KeyExists, ""});
  CHECK(kv.apply(with_id(del("x"), 1, 4)) == Result{Status::Ok, ""});
  CHECK(kv.apply(with_id(get("x"), 1, 5)) == Result{Status::NotFound, ""});
  CHECK(kv.apply(with_id(del("x"), 1, 6)) == Result{Status::NotFound, ""});
  CHECK(kv.data().empty());
}

TEST_CASE("A retried command returns its first result and changes nothing", "[kv]") {
  KvStore kv;
  Command first = with_id(put("k", "v1"), 7, 3);
  REQUIRE(kv.apply(first) == Result{Status::Ok, ""});
  // The same (client, seq) again: its own first attempt must not make it fail.
  CHECK(kv.apply(first) == Result{Status::Ok, ""});
  CHECK(kv.data().at("k") == "v1");
  // Another client's put of the same key is a new command and fails.
  CHECK(kv.apply(with_id(put("k", "v2"), 8, 1)) == Result{Status::KeyExists, ""});
  // With dedup off (a planted bug) the retry re-executes and fails.
  KvStore buggy;
  buggy.apply(first, DedupMode::Off);
  CHECK(buggy.apply(first, DedupMode::Off) == Result{Status::KeyExists, ""});
}

TEST_CASE("An older request of a client never takes effect after a later one", "[kv]") {
  // Issue 9: a duplicated copy of request 1 commits after request 2 of the same client.
  Command put1 = with_id(put("k", "v1"), 4, 1);
  Command del2 = with_id(del("k"), 4, 2);
  KvStore kv;
  REQUIRE(kv.apply(put1) == Result{Status::Ok, ""});
  REQUIRE(kv.apply(del2) == Result{Status::Ok, ""});
  // Executing put1 again would put k back: a second execution, after a later request.
  CHECK(kv.apply(put1) == Result{Status::Stale, ""});
  CHECK(kv.data().empty());
  // A request the client gave up on and that commits only after its next one: also stale.
  CHECK(kv.apply(with_id(get("k"), 5, 2)) == Result{Status::NotFound, ""});
  CHECK(kv.apply(with_id(put("k", "late"), 5, 1)) == Result{Status::Stale, ""});
  CHECK(kv.data().empty());
  // The repeat of the last request still answers with its first result.
  CHECK(kv.apply(del2) == Result{Status::Ok, ""});
  // The planted bug dedup_last_seq_only re-executes the stale copy.
  KvStore buggy;
  buggy.apply(put1, DedupMode::LastSeqOnly);
  buggy.apply(del2, DedupMode::LastSeqOnly);
  CHECK(buggy.apply(put1, DedupMode::LastSeqOnly) == Result{Status::Ok, ""});
  CHECK(buggy.data().count("k") == 1);
}

TEST_CASE("FNV-1a 64 matches the published test vectors", "[kv]") {
  CHECK(fnv1a64("") == 0xcbf29ce484222325ull);
  CHECK(fnv1a64("a") == 0xaf63dc4c8601ec8cull);
  CHECK(fnv1a64("foobar") == 0x85944171f73967e8ull);
  // The store digest is FNV-1a 64 of the sorted "key=value\n" lines.
  KvStore kv;
  CHECK(kv.digest() == "cbf29ce484222325");
  kv.apply(with_id(put("x", "1"), 1, 1));
  char want[17];
  std::snprintf(want, sizeof want, "%016llx", static_cast<unsigned long long>(fnv1a64("x=1\n")));
  CHECK(kv.digest() == want);
}

TEST_CASE("Store digest depends on contents only", "[kv]") {
  KvStore a, b;
  a.apply(with_id(put("x", "1"), 1, 1));
  a.apply(with_id(put("y", "2"), 1, 2));
  b.apply(with_id(put("y", "2"), 2, 1));
  b.apply(with_id(put("x", "1"), 2, 2));
  CHECK(a.digest() == b.digest());
  CHECK(a.digest().size() == 16);
  b.apply(with_id(del("x"), 2, 3));
  CHECK(a.digest() != b.digest());
}
