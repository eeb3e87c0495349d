"""Server plumbing: how requests reach Django and how the process serves them (gunicorn worker, proxies,
request log, security headers, HTTPS redirect, health checks); the WSGI entry point and gunicorn's
settings stay at ``registry_project/wsgi.py`` and ``gunicorn.conf.py``."""
