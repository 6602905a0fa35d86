"""Selector: the selection kernels of the twin that ``FASTRING_IMPLEMENTATION`` asks for."""

from typing import TYPE_CHECKING

from ._implementation import IMPLEMENTATION

if TYPE_CHECKING or IMPLEMENTATION == "python":
    from ._select_py import (
        AliasTable,
        BalancerCore,
        Lease,
        SWRR_ROW_NAMES,
        SwrrTable,
        alias_build,
        alias_pick,
        alias_sample,
        least_loaded,
        swrr_next,
        swrr_next_many,
    )
else:
    from ._select_c import (  # type: ignore[no-redef]
        AliasTable,
        BalancerCore,
        Lease,
        SWRR_ROW_NAMES,
        SwrrTable,
        alias_build,
        alias_pick,
        alias_sample,
        least_loaded,
        swrr_next,
        swrr_next_many,
    )

__all__ = ["AliasTable", "BalancerCore", "Lease", "SWRR_ROW_NAMES", "SwrrTable", "alias_build", "alias_pick", "alias_sample", "least_loaded", "swrr_next", "swrr_next_many"]
