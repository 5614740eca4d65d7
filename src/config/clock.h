// Node clocks that drift ([timing] clock_drift_ppm): what the config's drift
// bound means for each server's own clock, shared by the emulator and replay
// so both feed a node the same readings.
//
// True (virtual) time is in milliseconds. Node i's clock runs at rate
// 1 + d_i, d_i in parts per million, spread evenly over [-rho, +rho] by node
// id: node 1 slowest, node n fastest (one node, or rho = 0: every clock
// keeps true time). A node timer of D ms on its own clock fires after
// ceil(D / (1 + d_i)) ms of true time; a node reads its clock in
// microseconds. With rho = 0 both are exact, so runs without drift keep
// their bytes.
#pragma once

#include <cstdint>
#include <vector>

namespace raftkv {

class NodeClocks {
 public:
  NodeClocks(int num_nodes, int64_t drift_ppm) : drift_(static_cast<size_t>(num_nodes) + 1, 0) {
    if (num_nodes < 2) return;
    for (int i = 1; i <= num_nodes; ++i) {
      drift_[static_cast<size_t>(i)] = drift_ppm * (2 * i - num_nodes - 1) / (num_nodes - 1);
    }
  }

  // Node id's drift in ppm (negative: its clock runs slow).
  int64_t drift_ppm(int id) const { return drift_[static_cast<size_t>(id)]; }

  // Node id's clock at true time t_ms, in microseconds.
  int64_t read_us(int id, int64_t t_ms) const { return t_ms * (kMillion + drift_ppm(id)) / 1000; }

  // True milliseconds until a timer of local_ms on node id's clock fires.
  int64_t true_delay_ms(int id, int64_t local_ms) const {
    int64_t rate = kMillion + drift_ppm(id);
    return (local_ms * kMillion + rate - 1) / rate;
  }

 private:
  static constexpr int64_t kMillion = 1'000'000;
  std::vector<int64_t> drift_;  // by node id
};

}  // namespace raftkv
