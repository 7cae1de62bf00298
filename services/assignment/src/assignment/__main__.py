"""`python -m assignment` / `assignment-service`: run the assignment service."""

import asyncio

from assignment.bootstrap import run


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
