// The scheduler's calendar queue pops in exactly the (time, insertion order)
// order of the binary heap it replaced, including items pushed far beyond its
// window, items pushed while others of the same time wait, and pushes at the
// current time.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

#include "sim/event_queue.h"
#include "sim/rng.h"

using namespace raftkv;

namespace {

struct TestItem {
  int64_t time = 0;
  uint64_t order = 0;
};

struct After {
  bool operator()(const TestItem& a, const TestItem& b) const {
    return a.time != b.time ? a.time > b.time : a.order > b.order;
  }
};

}  // namespace

TEST_CASE("EventQueue pops in (time, order) order like a heap", "[event_queue]") {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Rng rng(seed);
    EventQueue<TestItem> queue;
    std::vector<TestItem> heap;
    uint64_t order = 0;
    int64_t now = 0;
    auto push = [&](int64_t at) {
      TestItem item{at, order++};
      queue.push(item);
      heap.push_back(item);
      std::push_heap(heap.begin(), heap.end(), After{});
    };
    for (int i = 0; i < 5; ++i) push(rng.uniform(0, 5000));
    for (int step = 0; step < 5000; ++step) {
      if (heap.empty()) push(now + rng.uniform(0, 3000));
      REQUIRE_FALSE(queue.empty());
      REQUIRE(queue.next_time() == heap.front().time);
      std::pop_heap(heap.begin(), heap.end(), After{});
      TestItem want = heap.back();
      heap.pop_back();
      TestItem got = queue.pop();
      REQUIRE(got.time == want.time);
      REQUIRE(got.order == want.order);
      now = got.time;
      // Now (same time), soon (inside the window) and far ahead (beyond it).
      int64_t pushes = rng.uniform(0, 3);
      for (int64_t k = 0; k < pushes; ++k) {
        int64_t kind = rng.uniform(0, 9);
        int64_t delay = kind == 0 ? 0 : kind < 8 ? rng.uniform(1, 300) : rng.uniform(900, 5000);
        push(now + delay);
      }
    }
    REQUIRE(queue.empty() == heap.empty());
  }
}

// The runtime's deferred timers (sim/cluster.h, TimerSlot) push an item late,
// with an order taken earlier: it must pop where it would have, had it been
// pushed when its order was taken.
TEST_CASE("EventQueue places an item pushed late with an earlier order", "[event_queue]") {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Rng rng(seed);
    EventQueue<TestItem> queue;
    std::vector<TestItem> heap;
    std::vector<TestItem> deferred;  // orders taken, items not yet pushed
    uint64_t order = 0;
    int64_t now = 0;
    auto push_both = [&](TestItem item) {
      queue.push(item);
      heap.push_back(item);
      std::push_heap(heap.begin(), heap.end(), After{});
    };
    for (int step = 0; step < 5000; ++step) {
      int64_t kind = rng.uniform(0, 3);
      int64_t at = now + (rng.uniform(0, 9) == 0 ? rng.uniform(900, 3000) : rng.uniform(0, 300));
      if (kind == 0) {
        deferred.push_back(TestItem{at, order++});
      } else {
        push_both(TestItem{at, order++});
      }
      // A deferred item is pushed at the latest when the queue reaches its time.
      for (size_t i = 0; i < deferred.size();) {
        if (heap.empty() || deferred[i].time <= heap.front().time || rng.uniform(0, 3) == 0) {
          push_both(deferred[i]);
          deferred.erase(deferred.begin() + static_cast<std::ptrdiff_t>(i));
        } else {
          ++i;
        }
      }
      if (rng.uniform(0, 1) == 0 && !heap.empty()) {
        std::pop_heap(heap.begin(), heap.end(), After{});
        TestItem want = heap.back();
        heap.pop_back();
        REQUIRE(queue.next_time() == want.time);
        TestItem got = queue.pop();
        REQUIRE(got.time == want.time);
        REQUIRE(got.order == want.order);
        now = got.time;
      }
    }
  }
}
