"""Build fastring's Cython extensions, falling back to a pure-Python package.

Environment switches
--------------------
FASTRING_NO_EXTENSIONS=1       build a pure-Python package (no compiler needed).
FASTRING_REQUIRE_EXTENSIONS=1  a failing extension build is an error (CI, wheels).
FASTRING_CYTHON_DEBUG=1        turn bounds/wraparound checks back on for a debug run.
FASTRING_CYTHON_ANNOTATE=1     write Cython's annotated HTML next to each .pyx.
"""

import glob
import os
import sys
import traceback

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def _flag(name):
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


NO_EXTENSIONS = _flag("FASTRING_NO_EXTENSIONS")
REQUIRE_EXTENSIONS = _flag("FASTRING_REQUIRE_EXTENSIONS")
DEBUG = _flag("FASTRING_CYTHON_DEBUG")

if NO_EXTENSIONS and REQUIRE_EXTENSIONS:
    sys.exit("FASTRING_NO_EXTENSIONS and FASTRING_REQUIRE_EXTENSIONS contradict each other")

# Explicit directives for every module; Cython's global defaults are never mutated.
COMPILER_DIRECTIVES = {
    "language_level": 3,
    "embedsignature": True,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": not DEBUG,
    # Not declared free-threading compatible: the object kernels borrow references
    # under the GIL, so a free-threaded interpreter keeps the GIL on for us.
}

if sys.platform == "win32":
    COMPILE_ARGS = ["/O2"]
else:
    # Portable flags only: no -march=native, so a wheel runs on any CPU of its arch.
    COMPILE_ARGS = ["-O3"] if not DEBUG else ["-O0", "-g"]


def extensions():
    if NO_EXTENSIONS:
        return []
    try:
        from Cython.Build import cythonize
    except ImportError as exc:
        if REQUIRE_EXTENSIONS:
            raise
        sys.stderr.write(BANNER.format(rule="*" * 72, cause=exc))
        return []

    sources = sorted(glob.glob(os.path.join("fastring", "*.pyx")))
    if not sources:
        # An sdist without its .pyx would otherwise install the pure twin in silence.
        cause = "no fastring/*.pyx sources found (a broken sdist?)"
        if REQUIRE_EXTENSIONS:
            sys.exit(f"FASTRING_REQUIRE_EXTENSIONS=1 but {cause}")
        sys.stderr.write(BANNER.format(rule="*" * 72, cause=cause))
        return []
    # NumPy's C API makes the small output arrays (one lookup_many of a few keys)
    # without a Python call: np.empty costs more than routing a key.
    import numpy

    modules = [
        Extension(
            "fastring." + os.path.splitext(os.path.basename(path))[0],
            [path],
            include_dirs=[numpy.get_include()],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            extra_compile_args=COMPILE_ARGS,
        )
        for path in sources
    ]
    return cythonize(
        modules,
        compiler_directives=COMPILER_DIRECTIVES,
        annotate=_flag("FASTRING_CYTHON_ANNOTATE"),
    )


BANNER = """
{rule}
WARNING: fastring's compiled extensions could not be built.
Installing the pure-Python twin instead: same results, much slower.
Set FASTRING_REQUIRE_EXTENSIONS=1 to make this an error.
Cause: {cause}
{rule}
"""


class OptionalBuildExt(build_ext):
    """build_ext that degrades to the pure package unless extensions are required.

    After the first failure no further extension is built: the package is then pure
    as a whole (a partial build is never used, see fastring/_implementation.py).
    """

    failed = False

    def run(self):
        try:
            super().run()
        except Exception as exc:  # compiler missing, Python headers missing, ...
            self._give_up(exc)

    def build_extension(self, ext):
        if self.failed:
            return
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._give_up(exc)

    def _give_up(self, exc):
        if REQUIRE_EXTENSIONS:
            raise
        self.failed = True
        traceback.print_exc()
        sys.stderr.write(BANNER.format(rule="*" * 72, cause=exc))


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
