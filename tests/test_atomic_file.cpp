// The output-file helper every command writes through (app/atomic_file.h).
#include "app/atomic_file.h"
#include "support.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using raftkv::AtomicOutputFile;
using raftkv::same_file;
using raftkv::testing::read_file;

namespace {

namespace fs = std::filesystem;

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string fresh_dir(const std::string& name) {
  std::string dir = std::string(RAFTKV_BINARY) + "." + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("AtomicOutputFile replaces its file only on commit", "[atomic_file]") {
  std::string dir = fresh_dir("atomic-file");
  std::string path = dir + "/out.txt";
  {
    AtomicOutputFile file(path);
    REQUIRE(file.open());
    file.stream() << "half";
  }  // no commit: nothing appears
  CHECK(names_in(dir).empty());
  write_file(path, "old\n");
  {
    AtomicOutputFile file(path);
    REQUIRE(file.open());
    file.stream() << "half";
    CHECK(read_file(path) == "old\n");  // written elsewhere until commit
  }
  CHECK(read_file(path) == "old\n");
  CHECK(names_in(dir) == std::vector<std::string>{"out.txt"});
  // Through a symlink: the file it names gets the contents, the link stays.
  fs::create_symlink("out.txt", dir + "/link.txt");
  {
    AtomicOutputFile file(dir + "/link.txt");
    REQUIRE(file.open());
    file.stream() << "new\n";
    REQUIRE(file.commit());
  }
  CHECK(read_file(path) == "new\n");
  CHECK(fs::is_symlink(dir + "/link.txt"));
  CHECK(names_in(dir) == std::vector<std::string>{"link.txt", "out.txt"});
  AtomicOutputFile missing(dir + "/nowhere/x.txt");
  CHECK_FALSE(missing.open());
  CHECK_THAT(missing.error(), Catch::Contains(dir + "/nowhere/x.txt"));
}

TEST_CASE("same_file sees through ./, symlinks and hard links", "[atomic_file]") {
  std::string dir = fresh_dir("same-file-fn");
  write_file(dir + "/a", "a");
  write_file(dir + "/b", "a");
  fs::create_symlink("a", dir + "/sym");
  fs::create_hard_link(dir + "/a", dir + "/hard");
  CHECK(same_file(dir + "/a", dir + "/./a"));
  CHECK(same_file(dir + "/a", dir + "/sym"));
  CHECK(same_file(dir + "/hard", dir + "/a"));
  CHECK_FALSE(same_file(dir + "/a", dir + "/b"));
  CHECK_FALSE(same_file(dir + "/a", dir + "/missing"));
}
