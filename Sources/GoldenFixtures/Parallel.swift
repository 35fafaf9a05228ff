import Dispatch
import Synchronization

/// An order-keeping parallel map for the oracle's work (MPFR's state is thread-local, so
/// concurrent oracle calls do not interfere).
enum Parallel {
    /// `items.map(body)`, computed on up to `threads` threads. Items are handed out one at a time
    /// (costly items, such as large-K cases, do not hold up a whole chunk); the result is in
    /// `items`' order whatever the thread count.
    static func map<T: Sendable, R: Sendable>(_ items: [T], threads: Int, _ body: @Sendable (T) -> R) -> [R] {
        let workers = Swift.min(Swift.max(1, threads), items.count)
        if workers <= 1 { return items.map(body) }
        let results = Mutex<[R?]>([R?](repeating: nil, count: items.count))
        let next = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let i = next.add(1, ordering: .relaxed).oldValue
                if i >= items.count { return }
                let r = body(items[i])
                results.withLock { $0[i] = r }
            }
        }
        return results.withLock { $0.map { $0! } }
    }
}

/// The number of online processors (the default thread count).
public enum ProcessorCount {
    public static var online: Int {
        #if canImport(Glibc)
        Swift.max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        1
        #endif
    }
}

#if canImport(Glibc)
import Glibc
#endif
