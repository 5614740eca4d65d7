// The state machine's semantics, exactly the seed's, plus client dedup.
#include <catch2/catch.hpp>

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
  buggy.apply(first, false);
  CHECK(buggy.apply(first, false) == Result{Status::KeyExists, ""});
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
