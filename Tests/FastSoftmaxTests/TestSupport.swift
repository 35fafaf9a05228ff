import FastSoftmax
@_exported import TestSupport  // SplitMix64, ulpError: shared by every test target

/// The accurate variant's stated bounds are at most 0.5 + 2^-4.3 ulp from the exact value
/// (docs/kernels.md). A correctly rounded reference is within 1/2 ulp of the exact value, so a
/// result meeting the bound is within 1 + 2^-4.3 ulp of the reference; both lie on the format's
/// grid, so they differ by at most 1 ulp. (AccuracyHarnessTests' AccurateBoundTests checks
/// each kernel at its stated bound against the oracle's exact value.)
let boundAgainstRounded = 1.0
