/// Why a result line (typically another implementation's answer) could not be read: the shape
/// and messages of ``RequestError``, e.g. `field "values[2]": "x" is not a number (expected …)`.
public typealias ResultError = LineError<ResultLine>
