# The registry's image: gunicorn serving the Django project as an unprivileged user.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DATA_DIR=/data \
    BIND_ADDRESS=0.0.0.0

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN useradd --system --uid 10001 --home-dir /app registry \
    && mkdir -p /data \
    && chown registry /data
USER registry

VOLUME ["/data"]
EXPOSE 8000
# bootstrap is idempotent: it migrates every database and creates the default tenant on first start.
CMD ["sh", "-c", "python manage.py bootstrap && exec gunicorn -c gunicorn.conf.py"]
