#!/usr/bin/env bash
# `make container-test`: build the image, bring the compose stack up with podman, use it as a
# visitor would, and tear it all down. No registry is reachable from CI, so the base image is
# built here with mmdebstrap (Debian's python3) and PostgreSQL is Debian's on that base; the
# README's commands are otherwise the ones run here. Base tarballs are kept in
# var/container-cache (CONTAINER_TEST_CACHE); a fresh clone builds them.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
SUITE=${CONTAINER_TEST_SUITE:-bookworm}
CACHE=${CONTAINER_TEST_CACHE:-var/container-cache}
INCLUDE=python3,python3-venv,python3-pip,ca-certificates,passwd
PROJECT=digits-ctest-$$
APP_IMAGE=localhost/digits:container-test
LABEL=digits.container-test=true
CACERT=${CONTAINER_TEST_CACERT:-${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}}

declare -a timings=()
step() {
    if [ -n "${step_name:-}" ]; then
        timings+=("$(printf '%-34s %4d s' "$step_name" $((SECONDS - step_started)))")
    fi
    step_name=${1:-}
    step_started=$SECONDS
    [ -z "$step_name" ] || echo "== $step_name"
}

# --- Tools: podman 4.3 and podman-compose 1.0.3 from Debian. -------------------------------------
step "install tools"
missing=()
for tool in podman buildah podman-compose mmdebstrap runc; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing ${missing[*]} and what rootless podman needs..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
        podman buildah podman-compose mmdebstrap runc uidmap slirp4netns fuse-overlayfs >/dev/null
fi

# podman's settings for this run only (nothing in /etc changes): runc, as crun fails here, and
# ulimits within the host's hard limits.
tmp=$(mktemp -d)
hard() { local limit; limit=$(ulimit -H "$1"); [ "$limit" = unlimited ] && limit=$2; echo $((limit < $2 ? limit : $2)); }
nofile=$(hard -n 20000)
nproc=$(hard -u 4096)
cat >"$tmp/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF=$tmp/containers.conf

compose() { podman-compose -p "$PROJECT" "$@" >>"$tmp/compose.log" 2>&1; }
leftovers() {
    podman ps -a -q --filter "label=io.podman.compose.project=$PROJECT"
    podman volume ls -q --filter "label=io.podman.compose.project=$PROJECT"
    podman network ls -q --filter "label=io.podman.compose.project=$PROJECT"
}
cleanup() {
    status=$?
    set +e
    if [ $status -ne 0 ] && [ -f "$tmp/env" ]; then
        tail -n 20 "$tmp/compose.log"
        for container in $(podman ps -a --format '{{.Names}}' --filter "label=io.podman.compose.project=$PROJECT"); do
            echo "--- last lines of $container"
            podman logs --tail 40 "$container" 2>&1
        done
    fi
    step "tear down"
    compose down -v
    # podman-compose 1.0.3 leaves the project's network behind; anything else left is removed too.
    podman ps -a -q --filter "label=io.podman.compose.project=$PROJECT" | xargs -r podman rm -f >/dev/null
    podman volume ls -q --filter "label=io.podman.compose.project=$PROJECT" | xargs -r podman volume rm -f >/dev/null
    podman network ls -q --filter "label=io.podman.compose.project=$PROJECT" | xargs -r podman network rm -f >/dev/null
    if [ -n "$(leftovers)" ]; then
        echo "container-test: containers, volumes or networks of $PROJECT are left behind" >&2
        status=1
    fi
    # Earlier builds of the test's images, untagged by this one.
    podman image prune -f --filter "label=$LABEL" >/dev/null
    rm -rf "$tmp"
    step
    printf '%s\n' "${timings[@]}"
    echo "total $((SECONDS)) s"
    [ $status -eq 0 ] && echo "container-test: passed" || echo "container-test: FAILED" >&2
    exit $status
}
trap cleanup EXIT

# --- Base image: Debian's python3, from the host's apt sources. ---------------------------------
step "base image (mmdebstrap)"
sources=/etc/apt/sources.list.d/debian.sources
[ -f "$sources" ] || sources=/etc/apt/sources.list
key=$( (echo "$SUITE $INCLUDE"; cat "$sources") | sha256sum | cut -c1-12)
base_tar=$CACHE/base-$SUITE-$key.tar
base_image=localhost/digits-ctest-base:$key
if ! podman image exists "$base_image" && [ ! -s "$base_tar" ]; then
    mkdir -p "$CACHE"
    rm -f "$CACHE"/base-*.tar
    mmdebstrap --quiet --variant=apt --format=tar --include="$INCLUDE" "$SUITE" "$base_tar.partial" "$sources"
    mv "$base_tar.partial" "$base_tar"
fi
step "base image (podman import)"
podman image exists "$base_image" || podman import --quiet "$base_tar" "$base_image" >/dev/null

# --- The app image, as the README builds it, on that base. ---------------------------------------
step "app image (podman build)"
secret=()
[ -s "$CACERT" ] && secret=(--secret "id=cacert,src=$CACERT")
# Docker format keeps the HEALTHCHECK (the OCI format has no field for it).
podman build --format docker --label "$LABEL" --build-arg "BASE=$base_image" "${secret[@]}" \
    -t "$APP_IMAGE" . >"$tmp/build.log" 2>&1 || { tail -n 40 "$tmp/build.log"; exit 1; }
if [ "$(podman image inspect --format '{{.Config.User}}' "$APP_IMAGE")" != digits ]; then
    echo "container-test: the image does not run as its unprivileged user" >&2
    exit 1
fi
step "postgres image (podman build)"
postgres_image=localhost/digits-ctest-postgres:$key
podman build --label "$LABEL" --build-arg "BASE=$base_image" -f scripts/container-test/postgres.Containerfile \
    -t "$postgres_image" scripts/container-test >"$tmp/build.log" 2>&1 || { tail -n 40 "$tmp/build.log"; exit 1; }

# --- The stack, with the example env file and generated secrets. ---------------------------------
step "compose up"
secret_key=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(50))')
db_password=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(24))')
sed -e "s|^DJANGO_SECRET_KEY=.*|DJANGO_SECRET_KEY=$secret_key|" \
    -e "s|^POSTGRES_PASSWORD=.*|POSTGRES_PASSWORD=$db_password|" \
    -e "s|^DATABASE_URL=postgres://digits:@|DATABASE_URL=postgres://digits:$db_password@|" \
    .env.container.example >"$tmp/env"
port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Two workers: the start-up lock must let only one container migrate and train the first model.
export DIGITS_ENV_FILE=$tmp/env DIGITS_IMAGE=$APP_IMAGE POSTGRES_IMAGE=$postgres_image \
    DIGITS_PORT=$port DIGITS_WORKER_REPLICAS=2
url=http://127.0.0.1:$port
compose up -d

step "migrate, first model, healthz"
"$PY" scripts/container-test/check_stack.py wait "$url" 600
# The web service's health check, as the container engine runs it.
podman healthcheck run "${PROJECT}_web_1" && echo "the web container's health check: healthy"
workers=$(podman ps -q --filter "label=io.podman.compose.project=$PROJECT" \
    --filter label=com.docker.compose.service=worker | wc -l)
[ "$workers" -eq 2 ] || { echo "container-test: $workers workers run, not 2" >&2; exit 1; }

step "sign up, upload, read the answer"
"$PY" scripts/container-test/check_stack.py upload "$url" "$tmp/state.json"

# New web and database containers: what they find comes from the volumes.
step "recreate web, same history"
compose up -d --force-recreate web
"$PY" scripts/container-test/check_stack.py wait "$url" 300
"$PY" scripts/container-test/check_stack.py history "$url" "$tmp/state.json"

step "the worker takes the default model's training"
# The starter model queued the default model's training; a worker must take it. It is not waited
# for (minutes of CPU): the retraining tests of the suite cover what it does.
podman exec "${PROJECT}_web_1" python manage.py shell -v 0 -c '
import time
from recognizer.model_versions import is_starter
from recognizer.models import ModelVersion, TrainingRun
starters = sum(is_starter(version) for version in ModelVersion.objects.all())
if starters != 1:
    raise SystemExit(f"{starters} starter models were trained, not 1")
run = TrainingRun.objects.order_by("pk").first()
if run is None:
    raise SystemExit("the starter model queued no training of the default model")
deadline = time.monotonic() + 300
while run.state == "queued" and time.monotonic() < deadline:
    time.sleep(2)
    run.refresh_from_db()
print(f"training run {run.pk}: {run.state}: {run.stage}")
raise SystemExit(0 if run.state in ("running", "succeeded") else 1)
'
