#!/bin/sh
# /opt/kafka/bin/<tool>.sh of the stand-in: the tool's class on the broker's jars.
set -eu
case "$(basename "$0")" in
  kafka-broker-api-versions.sh) class=org.apache.kafka.tools.BrokerApiVersionsCommand ;;
  kafka-configs.sh) class=kafka.admin.ConfigCommand ;;
  kafka-acls.sh) class=org.apache.kafka.tools.AclCommand ;;
  kafka-topics.sh) class=org.apache.kafka.tools.TopicCommand ;;
  kafka-storage.sh) class=kafka.tools.StorageTool ;;
  *) echo "unknown tool $0" >&2; exit 2 ;;
esac
# KAFKA_JVM_PERFORMANCE_OPTS as the official scripts take it (kafka-init sets a quick start).
# shellcheck disable=SC2086
exec java -Xmx256m ${KAFKA_JVM_PERFORMANCE_OPTS:-} \
  -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties -cp '/opt/kafka/libs/*' "$class" "$@"
