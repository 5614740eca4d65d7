// Output files that appear only when complete.
//
// Every file raftkv writes (a run's trace, a scenario's trace, an export) is
// first written to a temporary file in the destination's directory and
// renamed over the destination only by commit(). A command that fails, is
// rejected or is interrupted therefore never leaves a truncated or empty
// output behind, and never clobbers an existing file: the old file stays
// until the new one is complete.
#pragma once

#include <fstream>
#include <ostream>
#include <string>

namespace raftkv {

// True if both paths name one existing file (same device and inode), so
// "./x", a symlink to x and a hard link to x all count as x.
bool same_file(const std::string& a, const std::string& b);

class AtomicOutputFile {
 public:
  explicit AtomicOutputFile(std::string path);
  ~AtomicOutputFile();  // removes the temporary file unless commit() succeeded

  AtomicOutputFile(const AtomicOutputFile&) = delete;
  AtomicOutputFile& operator=(const AtomicOutputFile&) = delete;

  // Creates the temporary file. On failure returns false and error() says
  // why; nothing is created.
  bool open();

  // Where to write. Valid after a successful open().
  std::ostream& stream() { return out_; }
  // The temporary file's descriptor (open for reading and writing), or -1
  // when the output goes straight to a device or pipe. What is written
  // through it is committed with the rest.
  int fd() const { return fd_; }

  // Flushes, checks that every write succeeded, syncs the data to disk and
  // renames the temporary file over the destination. On failure returns
  // false (error() says why), removes the temporary file and leaves the
  // destination as it was.
  bool commit();

  const std::string& path() const { return path_; }
  const std::string& error() const { return error_; }

 private:
  bool fail(const std::string& what, int errnum);
  void discard();

  std::string path_;         // as the user gave it (for messages)
  std::string destination_;  // path_ with a final symlink resolved
  std::string temp_path_;    // empty when there is no temporary file
  int fd_ = -1;              // the temporary file's descriptor, kept for fsync
  int interrupt_slot_ = -1;  // where on_interrupt finds temp_path_ (-1: nowhere)
  std::ofstream out_;
  std::string error_;
};

// Writes `text` to `path` whole or not at all. False, after "raftkv COMMAND:
// cannot write 'PATH': why" on `err`, when it cannot.
bool write_file_atomically(const std::string& path, const std::string& text,
                           const std::string& command, std::ostream& err);

// Installs SIGINT, SIGTERM and SIGHUP handlers that remove the temporary file
// of the AtomicOutputFile being written, if any, before the process dies of
// the signal. For the command-line binary; the library never installs it.
void remove_temp_file_on_interrupt();

}  // namespace raftkv
