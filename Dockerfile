# syntax=docker/dockerfile:1
# One image for every process of Digits: the web server (the default), the task worker, migrate
# and train_model. `podman build -t localhost/digits .` or `docker build -t localhost/digits .`;
# compose.yaml runs it (README, "Deploy with containers").
ARG BASE=python:3.12-slim
FROM ${BASE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

RUN groupadd --system --gid 10001 digits \
    && useradd --system --uid 10001 --gid digits --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin digits

# A virtualenv works the same on the official image and on a distribution's python3 (PEP 668).
# Behind a TLS-intercepting proxy pip needs its CA bundle: given as a build secret, it is mounted
# for this step only and never stored in a layer.
COPY requirements.txt /app/requirements.txt
RUN --mount=type=secret,id=cacert \
    if [ -s /run/secrets/cacert ]; then export PIP_CERT=/run/secrets/cacert; fi \
    && python3 -m venv /opt/venv \
    && pip install --progress-bar off -r /app/requirements.txt

WORKDIR /app
COPY . /app

# Local state lives under /data: uploads and models are volumes (compose.yaml), or S3. Static
# files are part of the image, collected here with DEBUG off (hashed, compressed names); the key
# is a throwaway that only this step sees.
ENV DIGITS_VAR_DIR=/data \
    MEDIA_ROOT=/data/media \
    MODEL_DIR=/data/models \
    NUMBA_CACHE_DIR=/data/numba \
    STATIC_ROOT=/app/staticfiles \
    DJANGO_DEBUG=false \
    HOST=0.0.0.0 \
    PORT=8000
RUN DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
        python manage.py collectstatic --noinput --verbosity 0 \
    && python -m compileall -q /app >/dev/null \
    && mkdir -p /data/media /data/models /data/numba \
    && chown -R digits:digits /data

USER digits
EXPOSE 8000
# Python rather than curl: the slim images have no curl. The worker's compose service turns it off.
HEALTHCHECK --interval=30s --timeout=5s --start-period=300s --retries=3 \
    CMD ["python", "scripts/container_healthcheck.py"]
ENTRYPOINT ["/app/scripts/container-start.sh"]
# web: migrate and make the first model when none is active, then gunicorn (gunicorn.conf.py).
CMD ["web"]
