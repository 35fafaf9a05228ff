import ParallelExecution

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension ResultEncoder {
    /// Appends `{"id":<idText>,"values":["<hex>",…]}` to `out`: `idText` verbatim (JSON text),
    /// each value as ``HexFloat/format(_:)`` writes it, straight into the buffer (no string per
    /// value, and an oracle result's values read in place, ``AnswerValues``). With `rows` N (a
    /// batch), the values are written as N arrays, each the consecutive `count / N` values of
    /// one row: `{"id":<id>,"values":[[…],[…]]}`. A buffer with a ``ByteBuffer/drain`` passes on
    /// what it holds every 1 MiB or so, so a long line is never held whole. Arrays of at least
    /// `splitValues` values are formatted on two threads (``appendSplit(_:_:to:)``; the same
    /// bytes).
    static func append(idText: String, values: AnswerValues, rows: Int? = nil, to out: ByteBuffer,
                       splitValues: Int = defaultSplitValues) {
        out.append(#"{"id":"#)
        out.append(idText)
        out.append(#","values":"#)
        values.withValues { values in
            if let rows, rows > 0 {
                let width = values.count / rows
                out.append("[")
                for r in 0..<rows {
                    if r > 0 { out.append(",") }
                    appendArray(values.slice((r * width)..<(r * width + width)), to: out, splitValues: splitValues)
                }
                out.append("]")
            } else {
                appendArray(values, to: out, splitValues: splitValues)
            }
        }
        out.append("}")
    }

    /// The default of `splitValues`: 8192 values (about 0.1 ms of formatting, well over a
    /// second thread's start), or never on a one-processor machine.
    static let defaultSplitValues = ProcessorCount.online > 1 ? 1 << 13 : Int.max

    /// Bytes of room per value: a comma, two quotes and ``HexFloat/maxFormattedLength`` (the
    /// most it writes, its scratch bytes included).
    private static let roomPerValue = HexFloat.maxFormattedLength + 3

    /// Appends `["<hex>",…]`: blocks of up to 16 Ki values, each with room made once (about
    /// 440 KB), on this thread, or on two threads while at least `splitValues` values are left;
    /// between blocks a serving loop's buffer may be drained. A buffer with a drain passes on
    /// what it holds before a block that would not fit, instead of growing, so it stays at one
    /// block's room and reuses its pages: fresh pages (a fault and a zeroing each) cost more
    /// than the threads' hand-offs.
    private static func appendArray(_ values: StridedDoubles, to out: ByteBuffer, splitValues: Int) {
        out.append("[")
        var blockStart = 0
        while blockStart < values.count {
            let left = values.count - blockStart
            if left >= splitValues {
                let blockEnd = blockStart + min(left, 1 << 14)
                out.drainUnlessRoom((blockEnd - blockStart) * roomPerValue)
                appendSplit(values, blockStart..<blockEnd, to: out)
                blockStart = blockEnd
            } else {
                let blockEnd = blockStart + min(left, 1 << 14)
                out.drainUnlessRoom((blockEnd - blockStart) * roomPerValue)
                out.reserveFree((blockEnd - blockStart) * roomPerValue)
                out.count += write(values, blockStart..<blockEnd, to: out.base + out.count)
                blockStart = blockEnd
            }
            out.drainIfLarge()
        }
        out.append("]")
    }

    /// `values[range]` formatted at `out` as `"<hex>","<hex>"…`, with a comma before the first
    /// unless the range starts the array; the number of bytes written (room for
    /// ``roomPerValue`` bytes per value).
    private static func write(_ values: StridedDoubles, _ range: Range<Int>, to out: UnsafeMutablePointer<UInt8>) -> Int {
        var p = out
        for k in range {
            if k > 0 {
                p.pointee = UInt8(ascii: ",")
                p += 1
            }
            p.pointee = UInt8(ascii: "\"")
            p += 1 + HexFloat.write(values[k], to: p + 1)  // hex-float text never needs escaping
            p.pointee = UInt8(ascii: "\"")
            p += 1
        }
        return out.distance(to: p)
    }

    /// ``write(_:_:to:)`` of `values[range]` on two threads: the first half at the end of `out`,
    /// the second half after the most room the first could need, then moved down to follow the
    /// first half. Each half's bytes are the ones one thread would write, so the result is too.
    private static func appendSplit(_ values: StridedDoubles, _ range: Range<Int>, to out: ByteBuffer) {
        let middle = range.lowerBound + range.count / 2
        out.reserveFree(range.count * roomPerValue)
        let first = out.base + out.count
        let second = first + (middle - range.lowerBound) * roomPerValue
        let lengths = Parallel.forEachChunk(count: 2, chunks: 2) { half in
            half.lowerBound == 0
                ? write(values, range.lowerBound..<middle, to: first)
                : write(values, middle..<range.upperBound, to: second)
        }
        memmove(first + lengths[0], second, lengths[1])
        out.count += lengths[0] + lengths[1]
    }
}

extension ByteBuffer {
    /// Appends the UTF-8 of `text`.
    func append(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }
}
