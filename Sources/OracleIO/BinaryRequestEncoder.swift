import SoftmaxOracle

/// Writes an ``OracleRequest`` as one binary request frame (``BinaryFrame``), the inverse of
/// ``BinaryRequestDecoder``: for driving `softmax-oracle eval --transport binary` from Swift.
///
/// The header holds what ``RequestEncoder`` writes (`id`, `function`, `format`, the fields that
/// differ from their defaults) except that every array goes in the payload and is listed in
/// `arrays`: arrays of floats as `f64` (a row `[K]`, rows `[N, K]`), arrays of integers (class
/// indices) as `i64`. Every value is carried exactly (a float array's values are the request's
/// own binary64 values).
///
/// Postcondition: `BinaryRequestDecoder().decode(header:payload:)` of the frame gives back `id`
/// and `request` under the same conditions as ``RequestEncoder``'s.
public enum BinaryRequestEncoder {
    /// The request frame for `request`, with `id` (`null` when not given).
    public static func frame(_ request: OracleRequest, id: JSONValue = .null) -> [UInt8] {
        guard case .object(let members) = RequestEncoder.object(request, id: id) else { return [] }
        var header: [(String, JSONValue)] = []
        var arrays: [JSONValue] = []
        var payload: [UInt8] = []
        for (name, value) in members {
            guard case .array(let items) = value, let array = binaryArray(items) else {
                header.append((name, value))
                continue
            }
            arrays.append(array.descriptor(name: name))
            array.appendBytes(to: &payload)
        }
        header.append(("arrays", .array(arrays)))
        return BinaryFrame.make(header: .object(header), payload: payload)
    }

    /// The binary array of a request array as ``RequestEncoder`` writes it: hex-float strings
    /// (f64) or integers (i64), flat or as rows of equal length; nil for anything else.
    private static func binaryArray(_ items: [JSONValue]) -> BinaryArray? {
        let rows = items.compactMap(\.arrayValue)
        if !items.isEmpty && rows.count == items.count {
            guard rows.allSatisfy({ $0.count == rows[0].count }), let flat = binaryArray(rows.flatMap { $0 }) else { return nil }
            return BinaryArray(shape: [rows.count, rows[0].count], values: flat.values)
        }
        let floats = items.compactMap { $0.stringValue.flatMap(HexFloat.parse) }
        if floats.count == items.count { return BinaryArray(shape: [items.count], values: .f64(floats)) }
        let integers = items.compactMap { (v: JSONValue) -> Int? in if case .number(let t) = v { Int(t) } else { nil } }
        if integers.count == items.count { return BinaryArray(shape: [items.count], values: .i64(integers)) }
        return nil
    }
}
