"""Packaging hook (metadata is in pyproject.toml): a wheel that bundles the binary is a platform
wheel.

`make wheel` copies this directory to a staging area, puts the self-contained `softmax-oracle`
(`make dist`) at softmax_oracle/bin/softmax-oracle, its FMA build next to it, and builds the wheel
there. With the binary present the wheel is not pure: its tag is py3-none-PLATFORM, PLATFORM from the environment
variable SOFTMAX_ORACLE_WHEEL_PLATFORM (set by `make wheel` from the newest glibc symbol version
the binary needs, e.g. manylinux_2_28_x86_64), else linux_x86_64. Without the binary (a plain
`pip install ./python`) this is the usual pure py3-none-any wheel, and the package finds the binary
through $SOFTMAX_ORACLE_BIN or PATH instead. This is how ruff and uv ship theirs: an ordinary
package holding one executable, in a wheel tagged for the platform and no Python ABI.
"""
import os
from pathlib import Path

from setuptools import setup
from setuptools.dist import Distribution

try:  # setuptools >= 70.1 has it; older ones take it from the wheel package
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # pragma: no cover
    from wheel.bdist_wheel import bdist_wheel

BUNDLED = Path(__file__).resolve().parent / "softmax_oracle" / "bin" / "softmax-oracle"


class BinaryDistribution(Distribution):
    """With the binary bundled, the package is platform-specific: installed into platlib (the
    wheel's root is not purelib), as a package with extension modules would be."""

    def has_ext_modules(self) -> bool:
        return BUNDLED.is_file()


class PlatformWheel(bdist_wheel):
    """bdist_wheel that tags the wheel py3-none-PLATFORM when the binary is bundled (no Python
    ABI: the binary is a separate process, any Python 3 can run it)."""

    def get_tag(self) -> tuple[str, str, str]:
        if not BUNDLED.is_file():
            return super().get_tag()
        return "py3", "none", os.environ.get("SOFTMAX_ORACLE_WHEEL_PLATFORM", "linux_x86_64")


setup(distclass=BinaryDistribution, cmdclass={"bdist_wheel": PlatformWheel})
