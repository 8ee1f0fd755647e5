# One image for the web, worker and beat processes (see docker-compose.yml).
FROM python:3.12-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app
RUN useradd --create-home --uid 1000 helpdesk

COPY pyproject.toml README.md ./
COPY helpdesk ./helpdesk
COPY enrollment ./enrollment
COPY authsim ./authsim
COPY troubleshooting ./troubleshooting
RUN pip install .

COPY manage.py ./
COPY templates ./templates
COPY static ./static
# collectstatic needs settings to load; the key is a build-time placeholder, never used at run time.
RUN DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput

USER helpdesk
EXPOSE 8000
CMD ["gunicorn", "helpdesk.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
