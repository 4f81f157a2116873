// Small file helpers shared by every writer: atomic replacement of files and
// directories, and a content checksum. What gsnn writes either appears whole
// or not at all, survives a power cut once the call returns (fsync), and
// never replaces something that is not a regular file (a device, a FIFO).
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace gsnn {

// Writes text to path through path + ".tmp" and a rename, checking every
// error including the final flush; a crash leaves the old file or the new one.
void write_file_atomically(const std::string& path, const std::string& text);

// Closes `out` (flushing) and throws naming `path` if anything failed.
template <class Stream>
void close_or_throw(Stream& out, const std::string& path);

// A new, empty temporary file beside `path` with an unpredictable name
// (mkstemp: created exclusively, never through a planted symlink). Throws if
// `path` is empty or exists and is not a regular file.
std::string temporary_beside(const std::string& path);

// Removes a temporary file made by temporary_beside that will not be
// committed (an error on the way).
void remove_temporary(const std::string& tmp);

// Installs handlers for SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGPIPE (those
// not ignored) that
// stop the child set by set_writing_child, remove the temporary files being
// written (temporary_beside, until committed or removed), then end the
// process by the same signal; and ignores SIGXFSZ, so that a write past
// `ulimit -f` fails like any write error. The gsnn command calls it; a host
// program with handlers of its own need not.
void remove_temporaries_on_signals();

// The child process writing into a temporary file (0: none), for the handler.
void set_writing_child(pid_t child);

// Blocks the signals of remove_temporaries_on_signals in this thread for its
// lifetime: around steps the handler must see whole (a file created and
// recorded, a child spawned and recorded).
class CleanupSignalsBlocked {
 public:
  CleanupSignalsBlocked();
  ~CleanupSignalsBlocked();
  CleanupSignalsBlocked(const CleanupSignalsBlocked&) = delete;
  CleanupSignalsBlocked& operator=(const CleanupSignalsBlocked&) = delete;

 private:
  sigset_t old_;
};

// A new, empty directory beside `path` for staging (mkdtemp).
std::string temporary_directory_beside(const std::string& path);

// A staging directory beside `target` (temporary_directory_beside) that the
// signal handler of remove_temporaries_on_signals removes, with the named
// files in it, until this object is destroyed: a model directory being
// written, then swapped in. Its destructor does not remove it.
class StagingDirectory {
 public:
  StagingDirectory(const std::string& target, const std::vector<std::string>& files);
  ~StagingDirectory();
  StagingDirectory(const StagingDirectory&) = delete;
  StagingDirectory& operator=(const StagingDirectory&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::vector<std::string> files_;
};

// The whole of a regular file of at most max_bytes (a FIFO or a directory is
// refused, never waited on).
std::string read_text_file(const std::string& path, uint64_t max_bytes);

// Largest JSON description read (model.json, result.json, state.json).
constexpr uint64_t kMaxJsonBytes = 256 << 20;

// The last step of an atomic write: fsyncs the finished temporary file
// `tmp`, renames it to `path` and fsyncs the directory. Throws (and removes
// `tmp`) if `path` exists and is not a regular file or the rename fails.
void commit_file(const std::string& tmp, const std::string& path);

// True if both paths exist and are the same file (device and inode).
bool same_file(const std::string& a, const std::string& b);

// Throws if `path` exists and is not a regular file (writers replace files only).
void check_replaceable_file(const std::string& path);

// Moves the complete directory `fresh` to `target` atomically: readers see the
// old directory or the new one, never neither (rename-exchange where the file
// system has it). The old contents are deleted.
void replace_directory(const std::string& fresh, const std::string& target);

// An exclusive lock on a directory (flock on DIR/.gsnn-lock), held for the
// object's lifetime: two processes writing the same results do not race. The
// constructor creates the directory and throws std::runtime_error if another
// process holds the lock.
class DirectoryLock {
 public:
  explicit DirectoryLock(const std::string& directory);
  ~DirectoryLock();
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

 private:
  int fd_ = -1;
};

// Throws std::runtime_error naming `path` unless it is an existing regular
// file (not a device, FIFO or directory) of at most max_bytes.
void check_readable_file(const std::string& path, uint64_t max_bytes);

// 64-bit FNV-1a hash of a file's bytes, as 16 hex digits (regular files only).
std::string file_checksum(const std::string& path);

}  // namespace gsnn
