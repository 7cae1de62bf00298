"""`python -m allowance` / `allowance-service`: run the allowance service."""

import asyncio

from allowance.bootstrap import run


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
