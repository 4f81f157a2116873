// write_file_atomically, commit_file, replace_directory, file_checksum.
#include "io/files.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <stdexcept>

namespace gsnn {
namespace fs = std::filesystem;
namespace {

void fsync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(fmt::format("{}: cannot open: {}", path, strerror(errno)));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Some file systems (pipes, a few FUSE mounts) cannot sync directories.
  if (rc != 0 && err != EINVAL && err != EROFS)
    throw std::runtime_error(fmt::format("{}: fsync failed: {}", path, strerror(err)));
}

// The temporary files being written, for the signal handler: fixed slots of
// plain memory, so that the handler reads no lock and calls only unlink
// (async-signal-safe). More files at once than slots are simply not tracked.
struct TemporarySlot {
  std::atomic<int> state{0};  // 0 free, 1 being filled, 2 holds a path
  char path[4096];
};
TemporarySlot temporaries[64];
TemporarySlot staging_directories[8];  // removed (rmdir) after the files
static_assert(std::atomic<int>::is_always_lock_free);

void remember(TemporarySlot* slots, size_t count, const std::string& path) {
  if (path.size() >= sizeof(TemporarySlot::path)) return;
  for (auto* slot_ptr = slots; slot_ptr != slots + count; ++slot_ptr) {
    auto& slot = *slot_ptr;
    int free = 0;
    if (!slot.state.compare_exchange_strong(free, 1)) continue;
    std::memcpy(slot.path, path.c_str(), path.size() + 1);
    slot.state.store(2);
    return;
  }
}

void forget(TemporarySlot* slots, size_t count, const std::string& path) {
  for (auto* slot = slots; slot != slots + count; ++slot)
    if (slot->state.load() == 2 && path == slot->path) {
      slot->state.store(0);
      return;
    }
}

void remember_temporary(const std::string& path) {
  remember(temporaries, std::size(temporaries), path);
}

void forget_temporary(const std::string& path) {
  forget(temporaries, std::size(temporaries), path);
}

constexpr int kCleanupSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE};

// A child writing into a temporary file (gnuplot drawing a figure): stopped
// before the file is removed, or it would create it again.
std::atomic<pid_t> writing_child{0};
static_assert(std::atomic<pid_t>::is_always_lock_free);

extern "C" void remove_temporaries_and_die(int signal) {
  if (const pid_t child = writing_child.load(); child > 0) {
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
  }
  for (auto& slot : temporaries)
    if (slot.state.load() == 2) ::unlink(slot.path);
  for (auto& slot : staging_directories)
    if (slot.state.load() == 2) ::rmdir(slot.path);
  ::signal(signal, SIG_DFL);
  ::raise(signal);
}

std::string parent_of(const std::string& path) {
  const auto parent = fs::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

}  // namespace

template <class Stream>
void close_or_throw(Stream& out, const std::string& path) {
  out.close();  // errors of the final flush (a full disk) show up here
  if (out.fail()) throw std::runtime_error(path + ": write failed");
}
template void close_or_throw<std::ofstream>(std::ofstream&, const std::string&);

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  return fs::equivalent(a, b, ec) && !ec;
}

void check_replaceable_file(const std::string& path) {
  std::error_code ec;
  const auto status = fs::symlink_status(path, ec);
  if (!ec && fs::exists(status) && !fs::is_regular_file(status))
    throw std::runtime_error(
        fmt::format("{}: exists and is not a regular file; refusing to replace it", path));
}

namespace {
// mkstemp and mkdtemp create owner-only entries: give them what the user's
// umask allows, as an ordinary file or directory would have.
mode_t allowed_by_umask(mode_t mode) {
  static const mode_t mask = [] {
    const mode_t m = ::umask(0);
    ::umask(m);
    return m;
  }();
  return mode & ~mask;
}
}  // namespace

std::string temporary_beside(const std::string& path) {
  if (path.empty()) throw std::runtime_error("an output path is empty");
  check_replaceable_file(path);
  std::string name = path + ".tmp.XXXXXX";
  const CleanupSignalsBlocked blocked;  // created and recorded as one step
  const int fd = ::mkstemp(name.data());
  if (fd < 0)
    throw std::runtime_error(
        fmt::format("{}: cannot create a file beside it: {}", path, strerror(errno)));
  ::fchmod(fd, allowed_by_umask(0666));
  ::close(fd);
  remember_temporary(name);
  return name;
}

void remove_temporary(const std::string& tmp) {
  std::remove(tmp.c_str());
  forget_temporary(tmp);
}

void remove_temporaries_on_signals() {
  struct sigaction action {};
  action.sa_handler = remove_temporaries_and_die;
  sigemptyset(&action.sa_mask);
  for (int signal : kCleanupSignals) {
    // One ignored at start stays ignored (nohup's SIGHUP, a background job's SIGINT).
    struct sigaction old {};
    if (::sigaction(signal, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) continue;
    ::sigaction(signal, &action, nullptr);
  }
  // Past `ulimit -f` a write fails (and its file is removed) instead of killing the process.
  ::signal(SIGXFSZ, SIG_IGN);
}

void set_writing_child(pid_t child) { writing_child.store(child); }

CleanupSignalsBlocked::CleanupSignalsBlocked() {
  sigset_t set;
  sigemptyset(&set);
  for (int signal : kCleanupSignals) sigaddset(&set, signal);
  pthread_sigmask(SIG_BLOCK, &set, &old_);
}

CleanupSignalsBlocked::~CleanupSignalsBlocked() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

std::string temporary_directory_beside(const std::string& path) {
  if (path.empty()) throw std::runtime_error("an output directory is empty");
  std::string name = path + ".new.XXXXXX";
  if (!::mkdtemp(name.data()))
    throw std::runtime_error(
        fmt::format("{}: cannot create a directory beside it: {}", path, strerror(errno)));
  ::chmod(name.c_str(), allowed_by_umask(0777));
  return name;
}

StagingDirectory::StagingDirectory(const std::string& target,
                                   const std::vector<std::string>& files) {
  const CleanupSignalsBlocked blocked;  // created and recorded as one step
  path_ = temporary_directory_beside(target);
  remember(staging_directories, std::size(staging_directories), path_);
  for (const auto& f : files) {
    files_.push_back((fs::path(path_) / f).string());
    remember_temporary(files_.back());
  }
}

StagingDirectory::~StagingDirectory() {
  for (const auto& f : files_) forget_temporary(f);
  forget(staging_directories, std::size(staging_directories), path_);
}

std::string read_text_file(const std::string& path, uint64_t max_bytes) {
  check_readable_file(path, max_bytes);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open file");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw std::runtime_error(path + ": read error");
  return text;
}

void commit_file(const std::string& tmp, const std::string& path) {
  try {
    check_replaceable_file(path);
    fsync_path(tmp, O_RDONLY);
  } catch (...) {
    remove_temporary(tmp);
    throw;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    remove_temporary(tmp);
    throw std::runtime_error(fmt::format("{}: cannot rename temporary file", path));
  }
  forget_temporary(tmp);
  fsync_path(parent_of(path), O_RDONLY | O_DIRECTORY);
}

void write_file_atomically(const std::string& path, const std::string& text) {
  const auto tmp = temporary_beside(path);
  try {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw std::runtime_error(path + ": cannot write file");
    out << text;
    close_or_throw(out, path);
  } catch (...) {
    remove_temporary(tmp);
    throw;
  }
  commit_file(tmp, path);
}

void replace_directory(const std::string& fresh, const std::string& target) {
  if (!fs::exists(target)) {
    fs::rename(fresh, target);
  } else if (::renameat2(AT_FDCWD, fresh.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) == 0) {
    fs::remove_all(fresh);  // now holds the old contents
  } else {
    // No rename-exchange here: target -> a fresh .old name, fresh -> target,
    // drop it. A crash in between leaves the complete directories under those names.
    const auto old = temporary_directory_beside(target + ".old");
    fs::remove(old);
    fs::rename(target, old);
    fs::rename(fresh, target);
    fs::remove_all(old);
  }
  fsync_path(parent_of(target), O_RDONLY | O_DIRECTORY);
}

DirectoryLock::DirectoryLock(const std::string& directory) {
  std::error_code ec;
  fs::create_directories(directory, ec);
  if (ec || !fs::is_directory(directory))
    throw std::runtime_error(fmt::format("{}: cannot create the directory: {}", directory,
                                         ec ? ec.message() : "a file is in the way"));
  const auto path = (fs::path(directory) / ".gsnn-lock").string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);  // no planted link
  if (fd_ < 0) throw std::runtime_error(fmt::format("{}: cannot open: {}", path, strerror(errno)));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd_);
    throw std::runtime_error(fmt::format(
        "{}: another gsnn process is writing there (lock {}); wait for it or use another "
        "directory",
        directory, path));
  }
}

DirectoryLock::~DirectoryLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

void check_readable_file(const std::string& path, uint64_t max_bytes) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) throw std::runtime_error(path + ": cannot open file");
  if (!fs::is_regular_file(status))
    throw std::runtime_error(path + ": not a regular file (a device, FIFO or directory)");
  const auto size = fs::file_size(path, ec);
  if (ec || size > max_bytes)
    throw std::runtime_error(
        fmt::format("{}: {} bytes is more than the limit of {}", path, size, max_bytes));
}

std::string file_checksum(const std::string& path) {
  check_readable_file(path, std::numeric_limits<uint64_t>::max());
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open file");
  uint64_t hash = 0xcbf29ce484222325ULL;
  char buffer[1 << 16];
  while (in) {
    in.read(buffer, sizeof buffer);
    for (std::streamsize i = 0; i < in.gcount(); ++i) {
      hash ^= static_cast<unsigned char>(buffer[i]);
      hash *= 0x100000001b3ULL;
    }
  }
  if (in.bad()) throw std::runtime_error(path + ": read error");
  return fmt::format("{:016x}", hash);
}

}  // namespace gsnn
