#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

#if os(Linux) && canImport(Glibc)
/// glibc's `sched_getaffinity(2)` wrapper (declared in <sched.h> under _GNU_SOURCE, which the
/// Glibc module does not import).
@_silgen_name("sched_getaffinity")
private func glibcSchedGetaffinity(_ pid: pid_t, _ size: Int, _ mask: UnsafeMutableRawPointer) -> Int32
#endif

/// The number of processors this process may run on: the default thread count of every command
/// and of the oracle's own row splitting.
public enum ProcessorCount {
    /// On Linux the processors in the process's CPU affinity mask (`sched_getaffinity`, one
    /// system call; what libdispatch's `concurrentPerform`, which runs the threads, counts too),
    /// elsewhere (or when the mask cannot be read, e.g. over 1024 CPUs)
    /// `sysconf(_SC_NPROCESSORS_ONLN)`; read once per process, at least 1 (also where the
    /// platform cannot say). On Linux `sysconf` opens and reads /sys/devices/system/cpu/online:
    /// three system calls and a sysfs look-up, about 10 µs the first time in a process, against
    /// 0.5 µs for the mask (a static C program, same machine). The two agree unless the process
    /// is confined to fewer processors (`taskset`, a container's cpuset), where the mask is the
    /// right thread count.
    public static let online: Int = {
        #if os(Linux) && canImport(Glibc)
        var mask = cpu_set_t()
        let got = withUnsafeMutableBytes(of: &mask) { glibcSchedGetaffinity(0, $0.count, $0.baseAddress!) }
        if got == 0 {
            let count = withUnsafeBytes(of: &mask) { bytes in bytes.reduce(0) { $0 + $1.nonzeroBitCount } }
            if count > 0 { return count }
        }
        #endif
        #if canImport(Glibc) || canImport(Musl) || canImport(Darwin)
        return Swift.max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return 1
        #endif
    }()
}
