import SoftmaxOracle

/// NumPy `.npy` files, format version 1.0 (the format `numpy.load` reads everywhere):
/// the magic `\x93NUMPY`, version 1.0, a little-endian 2-byte header length, then an ASCII
/// dictionary `{'descr': …, 'fortran_order': False, 'shape': (…), }` padded with spaces and a
/// final `\n` so that the data starts at a multiple of 64 bytes, then the data in C order.
public enum NPY {
    /// A `<f8` array (little-endian binary64) of `shape`; `values.count` is the product of it.
    public static func float64(_ values: [Double], shape: [Int]) -> [UInt8] {
        precondition(values.count == shape.reduce(1, *), "values must fill the shape")
        var out = header(descr: "<f8", shape: shape)
        out.reserveCapacity(out.count + 8 * values.count)
        for x in values { appendLittleEndian(x.bitPattern, to: &out) }
        return out
    }

    /// A `<i8` array (little-endian 64-bit integers) of `shape`.
    public static func int64(_ values: [Int], shape: [Int]) -> [UInt8] {
        precondition(values.count == shape.reduce(1, *), "values must fill the shape")
        var out = header(descr: "<i8", shape: shape)
        out.reserveCapacity(out.count + 8 * values.count)
        for x in values { appendLittleEndian(UInt64(bitPattern: Int64(x)), to: &out) }
        return out
    }

    /// A 1-D `<U{n}` array (UTF-32LE strings of n code points, zero-padded), n the longest.
    public static func unicode(_ values: [String]) -> [UInt8] {
        let scalars = values.map { Array($0.unicodeScalars) }
        let width = Swift.max(1, scalars.map(\.count).max() ?? 1)
        var out = header(descr: "<U\(width)", shape: [values.count])
        for s in scalars {
            for k in 0..<width {
                let v = k < s.count ? s[k].value : 0
                for b in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * b))) }
            }
        }
        return out
    }

    /// The magic, version and header of a version 1.0 file.
    static func header(descr: String, shape: [Int]) -> [UInt8] {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        let prefix = 10  // magic (6) + version (2) + header length (2)
        let total = (prefix + dict.utf8.count + 1 + 63) / 64 * 64
        dict += String(repeating: " ", count: total - prefix - dict.utf8.count - 1) + "\n"
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        let n = dict.utf8.count
        out.append(UInt8(n & 0xFF))
        out.append(UInt8(n >> 8))
        out.append(contentsOf: dict.utf8)
        return out
    }

    private static func appendLittleEndian(_ word: UInt64, to out: inout [UInt8]) {
        for b in 0..<8 { out.append(UInt8(truncatingIfNeeded: word >> (8 * b))) }
    }
}
