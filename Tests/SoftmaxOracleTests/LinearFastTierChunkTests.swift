@testable import SoftmaxOracle
import Testing

/// How the fused linear cross-entropy's fast tier splits its stages for a thread count: one
/// thread means one piece, run on the calling thread (before, `threads: 1` gave four pieces run
/// concurrently by `Parallel.forEachChunk`, on dispatch's worker threads).
@Suite("Linear fast tier: pieces per thread count")
struct LinearFastTierChunkTests {
    @Test("one thread: one piece; n threads: four pieces each")
    func chunks() {
        #expect(LinearFastTier.chunks(threads: 1) == 1)
        #expect(LinearFastTier.chunks(threads: 2) == 8)
        #expect(LinearFastTier.chunks(threads: 3) == 12)
    }
}
