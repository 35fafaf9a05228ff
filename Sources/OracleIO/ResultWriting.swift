extension ResultEncoder {
    /// Appends `{"id":<idText>,"values":["<hex>",…]}` to `out`: `idText` verbatim (JSON text),
    /// each value as ``HexFloat/format(_:)`` writes it, straight into the buffer (no string per
    /// value). With `rows` N (a batch), `values` is written as N arrays, each the consecutive
    /// `values.count / N` values of one row: `{"id":<id>,"values":[[…],[…]]}`. A buffer with a
    /// ``ByteBuffer/drain`` passes on what it holds every 1 MiB or so, so a long line is never
    /// held whole.
    static func append(idText: String, values: [Double], rows: Int? = nil, to out: ByteBuffer) {
        out.append(#"{"id":"#)
        out.append(idText)
        out.append(#","values":"#)
        values.withUnsafeBufferPointer { values in
            if let rows, rows > 0 {
                let width = values.count / rows
                out.append("[")
                for r in 0..<rows {
                    if r > 0 { out.append(",") }
                    appendArray(UnsafeBufferPointer(rebasing: values[(r * width)..<(r * width + width)]), to: out)
                }
                out.append("]")
            } else {
                appendArray(values, to: out)
            }
        }
        out.append("}")
    }

    /// Appends `["<hex>",…]`.
    private static func appendArray(_ values: UnsafeBufferPointer<Double>, to out: ByteBuffer) {
        out.append("[")
        // Blocks of values, each with room made once (per value: a comma, two quotes and at most
        // maxFormattedLength bytes); between blocks a serving loop's buffer may be drained.
        let block = 1 << 14
        for blockStart in stride(from: 0, to: values.count, by: block) {
            let blockEnd = min(blockStart + block, values.count)
            out.reserveFree((blockEnd - blockStart) * (HexFloat.maxFormattedLength + 3))
            var p = out.base + out.count
            for k in blockStart..<blockEnd {
                if k > 0 {
                    p.pointee = UInt8(ascii: ",")
                    p += 1
                }
                p.pointee = UInt8(ascii: "\"")
                p += 1 + HexFloat.write(values[k], to: p + 1)  // hex-float text never needs escaping
                p.pointee = UInt8(ascii: "\"")
                p += 1
            }
            out.count = out.base.distance(to: p)
            out.drainIfLarge()
        }
        out.append("]")
    }
}

extension ByteBuffer {
    /// Appends the UTF-8 of `text`.
    func append(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }
}
