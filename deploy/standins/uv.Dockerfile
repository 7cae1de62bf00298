# A stand-in for ghcr.io/astral-sh/uv: the uv binary this machine installed, at /uv.
FROM scratch
COPY uv /uv
