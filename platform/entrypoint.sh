#!/bin/sh
# Roles: web | migrate | worker-scoring | worker-training | worker-default | beat | manage ARGS…
set -e
role="${1:-web}"; shift || true
case "$role" in
  web)
    # Migrations run once per release (compose's migrate service, the Kubernetes Job), not per replica.
    exec gunicorn config.wsgi:application -c /platform/gunicorn.conf.py ;;
  migrate)
    exec python manage.py migrate --noinput ;;
  worker-scoring)
    # TensorFlow is not fork-safe: one solo process, several of which may share a GPU (see the
    # README's Deployment); the prefetch multiplier must exceed the batch size (flush_every=32)
    # so celery-batches can fill a batch.
    exec celery -A config worker -Q scoring -P solo --prefetch-multiplier 64 \
      -n "scoring-${HOSTNAME:-0}@%h" -l "${LOG_LEVEL:-info}" ;;
  worker-training)
    exec celery -A config worker -Q training -P solo --prefetch-multiplier 1 \
      -n "training-${HOSTNAME:-0}@%h" -l "${LOG_LEVEL:-info}" ;;
  worker-default)
    exec celery -A config worker -Q default -P threads -c "${CONCURRENCY:-8}" \
      -n "default-${HOSTNAME:-0}@%h" -l "${LOG_LEVEL:-info}" ;;
  beat)
    exec celery -A config beat -l "${LOG_LEVEL:-info}" --schedule /tmp/celerybeat-schedule ;;
  manage)
    exec python manage.py "$@" ;;
  *)
    exec "$role" "$@" ;;
esac
