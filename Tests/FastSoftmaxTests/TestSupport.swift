import FastSoftmax
@_exported import TestSupport  // SplitMix64, ulpError: shared by every test target

/// The accurate variant's documented bound, against the exact value.
let accurateBound = 2.0

/// A reference value that is itself correctly rounded is within 1/2 ulp of the exact value, so
/// a result within 1.5 ulp of it is within the 2-ulp bound of the exact value.
let boundAgainstRounded = 1.5
