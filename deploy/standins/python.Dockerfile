# A stand-in for python:3.11-slim-bookworm: Debian's Python 3.11 on the base build.sh makes,
# at /usr/local/bin/python as in the official image. The certificate authorities this machine
# trusts beyond Debian's (build.sh copies /usr/local/share/ca-certificates into cas/) are
# trusted inside too: where the way out goes through a TLS-inspecting proxy, uv reaches PyPI.
ARG BASE=packages-standin/debian:bookworm
FROM ${BASE}
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      python3 python3-venv ca-certificates >/dev/null && rm -rf /var/lib/apt/lists/* \
    && ln -s /usr/bin/python3 /usr/local/bin/python
COPY cas/ /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
CMD ["python3"]
