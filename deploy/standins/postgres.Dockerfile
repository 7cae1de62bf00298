# A stand-in for the official postgres image: Debian's PostgreSQL on the base build.sh makes,
# with an entrypoint that honours POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB, PGDATA and
# /docker-entrypoint-initdb.d as the official image does.
ARG BASE=packages-standin/debian:bookworm
FROM ${BASE}
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      postgresql >/dev/null && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /docker-entrypoint-initdb.d
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod 755 /usr/local/bin/docker-entrypoint.sh
ENV PGDATA=/var/lib/postgresql/data PATH=/usr/lib/postgresql/15/bin:$PATH
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["postgres"]
