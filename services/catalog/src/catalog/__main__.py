"""`python -m catalog` / `catalog-service`: run the catalog service."""

import asyncio

from catalog.bootstrap import run


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
