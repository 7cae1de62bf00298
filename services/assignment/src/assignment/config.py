from __future__ import annotations

from pydantic import Field

from pkgshared.settings import ServiceSettings


class AssignmentSettings(ServiceSettings):
    unknown_package_wait_seconds: float = Field(
        default=10.0,
        ge=0,
        le=3600,
        description="how long an AssignPackage naming a package not known yet waits for its "
        "definition before it is rejected as unknown (docs/contract.md §4)",
    )
