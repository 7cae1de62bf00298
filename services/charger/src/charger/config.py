from __future__ import annotations

from pkgshared.settings import ServiceSettings


class ChargerSettings(ServiceSettings):
    pass
