#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The number of processors online: the default thread count of every command and of the
/// oracle's own row splitting.
public enum ProcessorCount {
    /// `sysconf(_SC_NPROCESSORS_ONLN)`, read once per process; at least 1 (also where the
    /// platform cannot say).
    public static let online: Int = {
        #if canImport(Glibc) || canImport(Musl) || canImport(Darwin)
        return Swift.max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return 1
        #endif
    }()
}
