#include "app/atomic_file.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace raftkv {
namespace {

// The temporary files to remove if a signal kills the process. A signal
// handler may only read fixed buffers and sig_atomic_t flags, so each path is
// copied into a slot of its own. A command writes few outputs at once (`sweep`
// keeps its results open while it writes a failing seed's trace): a fifth
// open file would go unremembered, and only its removal on a signal is lost.
constexpr int kInterruptSlots = 4;
char g_interrupt_temp[kInterruptSlots][PATH_MAX];
volatile sig_atomic_t g_interrupt_temp_set[kInterruptSlots] = {};

// The slot now holding `temp`, or -1.
int remember_for_interrupt(const std::string& temp) {
  if (temp.size() >= PATH_MAX) return -1;  // cannot happen for a path mkstemp took
  for (int i = 0; i < kInterruptSlots; ++i) {
    if (g_interrupt_temp_set[i]) continue;
    std::memcpy(g_interrupt_temp[i], temp.c_str(), temp.size() + 1);
    g_interrupt_temp_set[i] = 1;
    return i;
  }
  return -1;
}

void forget_for_interrupt(int& slot) {
  if (slot >= 0) g_interrupt_temp_set[slot] = 0;
  slot = -1;
}

extern "C" void on_interrupt(int sig) {
  for (int i = 0; i < kInterruptSlots; ++i)
    if (g_interrupt_temp_set[i]) unlink(g_interrupt_temp[i]);
  // Die of the signal as if there were no handler, so the caller sees it.
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

// The permission bits a new file gets from open(path, O_CREAT, 0666):
// mkstemp creates 0600, which would surprise a user whose umask allows more.
mode_t default_file_mode() {
  mode_t mask = umask(0);
  umask(mask);
  return 0666 & ~mask;
}

std::string directory_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

std::string base_name_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  if (stat(a.c_str(), &sa) != 0 || stat(b.c_str(), &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

AtomicOutputFile::AtomicOutputFile(std::string path) : path_(std::move(path)) {}

AtomicOutputFile::~AtomicOutputFile() { discard(); }

bool AtomicOutputFile::open() {
  mode_t mode = default_file_mode();
  destination_ = path_;
  struct stat st;
  if (stat(path_.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return fail("is a directory", 0);
    if (!S_ISREG(st.st_mode)) {
      // A device or a pipe (/dev/null, /dev/stdout): there is nothing to
      // replace atomically, and renaming over it would destroy it. Write
      // straight to it.
      out_.open(path_, std::ios::out | std::ios::binary);
      if (!out_) return fail("cannot open for writing", errno);
      return true;
    }
    // An existing file keeps its permissions, and a symlink keeps pointing
    // at the file it names: the new contents replace that file.
    mode = st.st_mode & 07777;
    if (char* real = realpath(path_.c_str(), nullptr)) {
      destination_ = real;
      std::free(real);
    }
  }
  std::string pattern =
      directory_of(destination_) + "." + base_name_of(destination_) + ".tmp-XXXXXX";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  fd_ = mkstemp(name.data());
  if (fd_ < 0) return fail("cannot create a temporary file in its directory", errno);
  temp_path_ = name.data();
  interrupt_slot_ = remember_for_interrupt(temp_path_);
  if (fchmod(fd_, mode) != 0)
    return fail("cannot set the permissions of the temporary file", errno);
  out_.open(temp_path_, std::ios::out | std::ios::trunc | std::ios::binary);
  if (!out_) return fail("cannot open the temporary file " + temp_path_, errno);
  return true;
}

bool AtomicOutputFile::commit() {
  errno = 0;
  out_.flush();
  if (!out_) return fail("write failed", errno);
  out_.close();
  if (!out_) return fail("write failed", errno);
  if (temp_path_.empty()) return true;  // written straight to a device or pipe
  // Without the sync a crash soon after the rename can leave an empty file
  // under the new name on some file systems.
  if (fsync(fd_) != 0) return fail("write failed", errno);
  ::close(fd_);
  fd_ = -1;
  if (std::rename(temp_path_.c_str(), destination_.c_str()) != 0) {
    return fail("cannot rename the temporary file " + temp_path_ + " into place", errno);
  }
  temp_path_.clear();
  forget_for_interrupt(interrupt_slot_);
  return true;
}

bool AtomicOutputFile::fail(const std::string& what, int errnum) {
  error_ = "cannot write '" + path_ + "': " + what;
  if (errnum != 0) error_ += std::string(" (") + std::strerror(errnum) + ")";
  discard();
  return false;
}

void AtomicOutputFile::discard() {
  if (out_.is_open()) out_.close();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!temp_path_.empty()) {
    std::remove(temp_path_.c_str());
    forget_for_interrupt(interrupt_slot_);
    temp_path_.clear();
  }
}

void remove_temp_file_on_interrupt() {
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    // A signal the parent ignores (nohup, a background job) stays ignored.
    struct sigaction old;
    if (sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) continue;
    std::signal(sig, on_interrupt);
  }
}

bool write_file_atomically(const std::string& path, const std::string& text,
                           const std::string& command, std::ostream& err) {
  AtomicOutputFile f(path);
  if (!f.open() || !(f.stream() << text) || !f.commit()) {
    err << "raftkv " << command << ": cannot write '" << path << "': " << f.error() << '\n';
    return false;
  }
  return true;
}

}  // namespace raftkv
