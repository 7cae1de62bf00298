"""Wait until a Kafka broker answers metadata requests; exit 1 after the deadline."""

import asyncio
import logging
import sys
import time

from aiokafka.admin import AIOKafkaAdminClient

from pkgshared.kafka import client_security
from pkgshared.settings import ServiceSettings


async def answers(bootstrap: str) -> bool:
    # The services' security settings from the environment (SASL when there is no PLAINTEXT).
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap,
        request_timeout_ms=3000,
        **client_security(ServiceSettings()),
    )
    try:
        await admin.start()
        await admin.list_topics()
        return True
    except Exception:
        return False
    finally:
        await admin.close()


async def main(bootstrap: str, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await answers(bootstrap):
            return 0
        await asyncio.sleep(0.5)
    print(f"Kafka at {bootstrap} did not answer within {seconds:.0f} s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    sys.exit(asyncio.run(main(sys.argv[1], float(sys.argv[2]))))
