"""Server plumbing: how requests reach Django and how the process serves them (gunicorn worker, proxies,
request log, security headers, HTTPS redirect, health checks)."""
