#!/bin/sh
# Run once by compose (service kafka-init, on the Kafka image) when the broker is healthy: the
# SCRAM users of pkgcontract.access with the passwords of .env (scripts/compose-env.sh), and
# their ACLs (acls.txt, generated from pkgcontract.access; a unit test keeps it in step). As the
# local broker's deploy/local/infra.sh does. Idempotent: a password or an ACL set again is the
# same.
set -eu
bootstrap=${BOOTSTRAP:-kafka:9094}  # the cluster file names every broker
props=/tmp/admin.properties
umask 077
printf '%s\n' "security.protocol=SASL_PLAINTEXT" "sasl.mechanism=PLAIN" \
  "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" password=\"$KAFKA_ADMIN_PASSWORD\";" \
  > "$props"
tools=/opt/kafka/bin
for user in $USERS; do
  password=$(printenv "KAFKA_USER_$(echo "$user" | tr '[:lower:]' '[:upper:]')_PASSWORD")
  for mechanism in SCRAM-SHA-256 SCRAM-SHA-512; do
    "$tools/kafka-configs.sh" --bootstrap-server "$bootstrap" --command-config "$props" \
      --alter --entity-type users --entity-name "$user" \
      --add-config "$mechanism=[password=$password]" >/dev/null
  done
done
grep -v '^#' /init/acls.txt | while read -r line; do
  [ -n "$line" ] || continue
  # shellcheck disable=SC2086
  "$tools/kafka-acls.sh" --bootstrap-server "$bootstrap" --command-config "$props" $line >/dev/null
done
echo "kafka-init: users $USERS and their ACLs in place"
