// The scheduler's queue: items in (time, insertion order) order.
//
// A calendar queue rather than a binary heap. Virtual time is in whole
// milliseconds and nearly every item is due within a second (latencies of a
// few ms, heartbeats, election and client timeouts), so the items due in the
// next kWindow milliseconds sit in one FIFO bucket per millisecond. A bucket
// holds items of one time only, in `order` order (nearly always by appending),
// so popping the front of the earliest bucket gives exactly the heap's
// (time, order) order at O(1) per push and pop. Items due later (faults scheduled far ahead)
// wait in a small heap and move into their bucket when the window reaches
// them, before any item of that time can be pushed into the bucket directly
// (every item due before cur_ + kWindow is in a bucket), so they keep their
// place in the order.
//
// Only a few dozen buckets hold items at any time, but a bucket's turn comes
// round once per kWindow ms: had each bucket its own storage, every push
// would write to memory last touched a window ago, long gone from the cache.
// So a drained bucket gives its storage back to a stack of spares and an
// empty bucket takes the one drained last, which is still in the cache.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace raftkv {

// Item: any copyable type with int64_t `time` and uint64_t `order` members
// (order: a counter that grows with each push, or an order taken earlier and
// not yet used: items pop in (time, order) order either way).
template <typename Item>
class EventQueue {
 public:
  EventQueue() : buckets_(kWindow) {}

  bool empty() const { return in_window_ == 0 && later_.empty(); }

  // Every push is due no earlier than the last item popped, and comes after
  // it in (time, order) order.
  void push(const Item& item) {
    if (item.time < cur_ + kWindow) {
      append(buckets_[slot(item.time)], item);
      ++in_window_;
    } else {
      later_.push_back(item);
      std::push_heap(later_.begin(), later_.end(), After{});
    }
  }

  // The time of the earliest item (the queue must not be empty).
  int64_t next_time() const {
    if (in_window_ == 0) return later_.front().time;
    // Every item due in the window is in a bucket, and buckets before cur_
    // are empty, so the first non-empty bucket from cur_ on is the earliest.
    int64_t t = cur_;
    while (buckets_[slot(t)].drained()) ++t;
    return t;
  }

  // Removes and returns the earliest item (the queue must not be empty).
  Item pop() { return pop_at(next_time()); }

  // pop() for a caller that has just asked next_time() (t): it spares the
  // second scan for the earliest bucket.
  Item pop_at(int64_t t) {
    if (in_window_ == 0 || t != cur_) advance(t);
    Bucket& b = buckets_[slot(t)];
    Item item = b.items[b.head++];
    --in_window_;
    if (b.drained()) {
      b.items.clear();  // keeps its capacity, for the next bucket to fill
      b.head = 0;
      spare_.push_back(std::move(b.items));
      b.items = std::vector<Item>();
    }
    return item;
  }

 private:
  static constexpr int64_t kWindow = 1024;  // ms; a power of two
  struct Bucket {
    std::vector<Item> items;
    size_t head = 0;  // items before head were popped
    bool drained() const { return head == items.size(); }
  };
  struct After {
    bool operator()(const Item& a, const Item& b) const {
      return a.time != b.time ? a.time > b.time : a.order > b.order;
    }
  };

  static size_t slot(int64_t t) { return static_cast<size_t>(t & (kWindow - 1)); }

  void append(Bucket& b, const Item& item) {
    if (b.items.capacity() == 0 && !spare_.empty()) {
      b.items = std::move(spare_.back());
      spare_.pop_back();
    }
    // Items come in order, except a deferred timer (sim/cluster.h,
    // TimerSlot), pushed late with the order it took when armed: it goes
    // before the waiting items of its time that were pushed after it was
    // armed. Never before head: the popped items all came before it.
    b.items.push_back(item);
    size_t i = b.items.size() - 1;
    while (i > b.head && b.items[i - 1].order > item.order) {
      b.items[i] = b.items[i - 1];
      --i;
    }
    b.items[i] = item;
  }

  // Moves the window's start to t (the earliest item's time) and brings in
  // the later items it now covers, earliest first.
  void advance(int64_t t) {
    cur_ = t;
    while (!later_.empty() && later_.front().time < cur_ + kWindow) {
      std::pop_heap(later_.begin(), later_.end(), After{});
      append(buckets_[slot(later_.back().time)], later_.back());
      later_.pop_back();
      ++in_window_;
    }
  }

  std::vector<Bucket> buckets_;  // bucket of time t: slot(t), for t in [cur_, cur_ + kWindow)
  int64_t cur_ = 0;              // no item is due before cur_
  size_t in_window_ = 0;         // items in buckets
  std::vector<Item> later_;      // items due at cur_ + kWindow or later: a heap by (time, order)
  std::vector<std::vector<Item>> spare_;  // drained buckets' storage, the last drained on top
};

}  // namespace raftkv
