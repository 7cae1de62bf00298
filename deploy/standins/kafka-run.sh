#!/bin/sh
# The stand-in's /etc/kafka/docker/run: configured the way the official apache/kafka image is.
# Every KAFKA_* environment variable but the JVM's (KAFKA_HEAP_OPTS, KAFKA_OPTS, ...) is a
# broker property: prefix dropped, lower case, "___" -> "-", "__" -> "_", "_" -> ".".
# CLUSTER_ID names the cluster its storage is formatted for (the official image's default).
set -euf  # no globbing: the class path ends in libs/*, for java to expand
config=/opt/kafka/config/server.properties
mkdir -p /opt/kafka/config
: > "$config"
env | sort | while IFS='=' read -r name value; do
  case "$name" in
    KAFKA_HEAP_OPTS|KAFKA_OPTS|KAFKA_JVM_PERFORMANCE_OPTS|KAFKA_LOG4J_OPTS|KAFKA_JMX_OPTS|KAFKA_VERSION) continue ;;
    KAFKA_*) ;;
    *) continue ;;
  esac
  key=$(printf '%s' "${name#KAFKA_}" | tr '[:upper:]' '[:lower:]' \
    | sed -e 's/___/-/g' -e 's/__/@/g' -e 's/_/./g' -e 's/@/_/g')
  printf '%s=%s\n' "$key" "$value" >> "$config"
done
grep -q '^log.dirs=' "$config" || echo "log.dirs=/tmp/kraft-combined-logs" >> "$config"
logs=$(sed -n 's/^log.dirs=//p' "$config" | cut -d, -f1)
mkdir -p "$logs"
heap=${KAFKA_HEAP_OPTS:--Xms1g -Xmx1g}
java="java $heap -XX:+UseG1GC -Djava.awt.headless=true -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties -cp /opt/kafka/libs/*"
if [ ! -f "$logs/meta.properties" ]; then
  $java kafka.tools.StorageTool format -t "${CLUSTER_ID:-5L6g3nShT-eMCtK--X86sw}" -c "$config" --ignore-formatted >/dev/null
fi
# shellcheck disable=SC2086
exec $java ${KAFKA_OPTS:-} kafka.Kafka "$config"
