"""`python -m charger` / `charger-service`: run the charger service."""

import asyncio

from charger.bootstrap import run


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
