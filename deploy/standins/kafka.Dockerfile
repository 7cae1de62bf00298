# A stand-in for apache/kafka on a machine that cannot pull it: the Debian base made by
# build.sh, Debian's JRE, and the Kafka jars deploy/local/infra.sh fetched from Maven Central
# (build.sh gathers them in the build context as libs/).
ARG BASE=packages-standin/debian:bookworm
FROM ${BASE}
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      openjdk-17-jre-headless >/dev/null && rm -rf /var/lib/apt/lists/*
COPY libs /opt/kafka/libs
COPY log4j2.properties /opt/kafka/config/log4j2.properties
COPY kafka-run.sh /etc/kafka/docker/run
COPY kafka-tool.sh /opt/kafka/bin/kafka-tool.sh
RUN chmod 755 /etc/kafka/docker/run /opt/kafka/bin/kafka-tool.sh \
    && for tool in kafka-broker-api-versions kafka-configs kafka-acls kafka-topics kafka-storage; do \
      ln -s kafka-tool.sh "/opt/kafka/bin/$tool.sh"; done
CMD ["/etc/kafka/docker/run"]
