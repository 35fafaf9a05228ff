"""``python -m softmax_oracle ARGS…`` runs the ``softmax-oracle`` binary with ARGS: the one
`find_binary` finds ($SOFTMAX_ORACLE_BIN, else the one a platform wheel bundles, else PATH), so
that an installed wheel is the whole tool (``python -m softmax_oracle eval``, ``… regress``,
``… fixtures verify``). ``python -m softmax_oracle --which`` prints the binary's path."""
from __future__ import annotations

import os
import sys

from ._process import OracleNotFoundError, find_binary


def main(argv: list[str]) -> int:
    """Replaces this process by the binary (exit status 127 and a message when there is none)."""
    try:
        binary = find_binary()
    except OracleNotFoundError as e:
        print(f"python -m softmax_oracle: {e}", file=sys.stderr)
        return 127
    if argv == ["--which"]:
        print(binary)
        return 0
    sys.stdout.flush()
    os.execv(binary, [binary, *argv])
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
