extension ResultEncoder {
    /// Appends `{"id":<idText>,"values":["<hex>",…]}` to `out`: `idText` verbatim (JSON text),
    /// each value as ``HexFloat/format(_:)`` writes it, straight into the buffer (room for every
    /// value is made once; no string per value).
    static func append(idText: String, values: [Double], to out: ByteBuffer) {
        out.append(#"{"id":"#)
        out.append(idText)
        out.append(#","values":["#)
        // Per value: a comma, two quotes and at most maxFormattedLength bytes.
        out.reserveFree(values.count * (HexFloat.maxFormattedLength + 3))
        values.withUnsafeBufferPointer { values in
            var p = out.base + out.count
            for (k, x) in values.enumerated() {
                if k > 0 {
                    p.pointee = UInt8(ascii: ",")
                    p += 1
                }
                p.pointee = UInt8(ascii: "\"")
                p += 1 + HexFloat.write(x, to: p + 1)  // hex-float text never needs escaping
                p.pointee = UInt8(ascii: "\"")
                p += 1
            }
            out.count = out.base.distance(to: p)
        }
        out.append("]}")
    }
}

extension ByteBuffer {
    /// Appends the UTF-8 of `text`.
    func append(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }
}
