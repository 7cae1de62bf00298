from __future__ import annotations

from pkgshared.settings import ServiceSettings


class AssignmentSettings(ServiceSettings):
    pass
