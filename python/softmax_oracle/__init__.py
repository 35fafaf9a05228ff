"""softmax-oracle from Python: certified, correctly rounded softmax, log_softmax, logsumexp,
cross-entropies and friends, and the project's ULP scoring, over the `softmax-oracle` binary.

    >>> import softmax_oracle as so
    >>> so.cross_entropy([1000.0, 0.0, -1000.0], target=1)
    array(1000.)
    >>> so.assert_close(my_softmax(x), function="softmax", logits=x, format="f32", max_ulp=2)

See python/README.md for the API.
"""
from ._formats import (FORMATS, FormatSpec, format_spec, from_float64, has_ml_dtypes, hex_value, read_float,
                       result_dtype, to_float64, to_hex)
from ._functions import (FUNCTIONS, Oracle, Plan, bce_with_logits, cross_entropy, cross_entropy_grad,
                         cross_entropy_loss, default_oracle, log_sigmoid, log_softmax, logsumexp, plan,
                         sigmoid, softmax, softplus)
from ._backward import log_softmax_backward, softmax_backward
from ._losses import cross_entropy_loss_backward, option_fields
from ._linear import (LINEAR_FUNCTIONS, linear_cross_entropy, linear_cross_entropy_grad_bias,
                      linear_cross_entropy_grad_hidden, linear_cross_entropy_grad_weight, linear_plan)
from ._process import (BINARY_ENV, CPU_ENV, BinaryTransport, JsonLinesTransport, OracleError, OracleNotFoundError, OracleProcessError,
                       OracleRequestError, OracleTimeoutError, Transport, find_binary)
from ._request import Request
from ._scoring import TORCH_TOLERANCES, assert_close, special_mismatch, ulp, ulp_error
from .fixtures import FixtureCase, FixtureFile, load_fixture

__all__ = [
    "FORMATS", "FUNCTIONS", "BINARY_ENV", "CPU_ENV", "TORCH_TOLERANCES", "FormatSpec", "Oracle", "Plan", "Request",
    "Transport", "BinaryTransport", "JsonLinesTransport", "OracleError", "OracleNotFoundError", "OracleProcessError",
    "OracleRequestError", "OracleTimeoutError", "FixtureCase", "FixtureFile",
    "assert_close", "bce_with_logits", "cross_entropy", "cross_entropy_grad", "cross_entropy_loss",
    "default_oracle", "find_binary", "format_spec", "from_float64", "has_ml_dtypes", "load_fixture",
    "log_sigmoid", "log_softmax", "logsumexp", "plan", "result_dtype", "sigmoid", "softmax", "softplus",
    "special_mismatch", "softmax_backward", "log_softmax_backward", "to_float64", "ulp", "ulp_error", "hex_value", "to_hex", "read_float",
    "cross_entropy_loss_backward", "option_fields",
    "LINEAR_FUNCTIONS", "linear_cross_entropy", "linear_cross_entropy_grad_hidden", "linear_cross_entropy_grad_weight",
    "linear_cross_entropy_grad_bias", "linear_plan",
]
__version__ = "0.1.0"
