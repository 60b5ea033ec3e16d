# CQOx web app. Build: docker build -t cqox .
# Run:   docker run -p 8501:8501 -v cqox-data:/data -e CQOX_ADMIN_PASSWORD=... cqox
# (without CQOX_ADMIN_PASSWORD the first start generates the admin's password and prints it once in the log)
# tests/app/test_deployment.py runs this file's CMD and HEALTHCHECK outside Docker.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin cqox

# The engine is installed as a package (no test extras) from a build directory that is then removed,
# so the app runs the installed cqox_core, not a source copy next to it.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY cqox_core ./cqox_core
COPY wolfram ./wolfram
RUN pip install . && rm -rf /src

# The Streamlit app: entry point, pages, helpers, demo data and the hardened config (root-owned, read-only
# to the app's user).
WORKDIR /app
COPY app.py ./
COPY app_lib ./app_lib
COPY app_pages ./app_pages
COPY assets ./assets
COPY .streamlit ./.streamlit

# Users, cookie key, saved analyses and the audit log live in the volume, owner-only.
ENV CQOX_DATA_DIR=/data
RUN mkdir -p /data && chown cqox:cqox /data && chmod 700 /data
VOLUME ["/data"]

USER cqox
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).status == 200 else 1)"]
CMD ["streamlit", "run", "app.py", "--server.address", "0.0.0.0", "--server.port", "8501"]
