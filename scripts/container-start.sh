#!/bin/sh
# The image's entrypoint (Dockerfile). One image runs every process of the stack:
#   web      wait for the database, migrate, make the first model if none is active, run gunicorn
#   worker   the same start-up, then the task worker (retraining queued from the admin)
#   init     the start-up alone (migrate, first model), e.g. before an upgrade's restart
#   anything else runs as given, e.g. `python manage.py train_model --kind svm`
# Every web and worker container runs the start-up; a database lock lets one at a time through,
# so N web containers and M workers neither migrate nor train the first model twice.
set -eu

# The first model, so that a new stack answers at once: the starter model (seconds), which queues
# the default model's training for a worker. Change it here only.
first_model() {
    python manage.py train_model --starter --if-none-active
}

start_up() {
    python scripts/container_init.py --timeout "${DB_WAIT_SECONDS:-120}" -- "$0" start-up-locked
}

case "${1:-web}" in
    web)
        start_up
        exec gunicorn -c gunicorn.conf.py
        ;;
    worker)
        start_up
        exec python manage.py db_worker --no-reload
        ;;
    init)
        start_up
        ;;
    start-up-locked)
        python manage.py migrate --noinput
        first_model
        ;;
    *)
        exec "$@"
        ;;
esac
