# PrairieLearn external-grader image for one problem, made by `harness export prairielearn`.
# Build it where your course's graders pull from, e.g.:  docker build -t yourorg/mlgrade-mhsa:1 .
#   BASE_IMAGE  any Debian or Ubuntu image with python3 and pip (offline: any local one)
#   wheels/     the harness's wheel; with torch's wheel there too, the only package index (an offline build)
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
COPY . /opt/harness/
RUN set -eu; \
    if ls /opt/harness/wheels/torch-*.whl > /dev/null 2>&1; then source="--no-index --find-links /opt/harness/wheels"; \
    else source="--find-links /opt/harness/wheels --index-url https://download.pytorch.org/whl/cpu --extra-index-url https://pypi.org/simple"; fi; \
    python3 -m pip install --no-cache-dir --disable-pip-version-check --break-system-packages $source /opt/harness/wheels/mlgrade_harness-*.whl \
      || python3 -m pip install --no-cache-dir --disable-pip-version-check $source /opt/harness/wheels/mlgrade_harness-*.whl; \
    rm -rf /opt/harness/wheels /opt/harness/Dockerfile; \
    chmod 0755 /opt/harness/run.sh; \
    python3 -m harness autograder lock-down /opt/harness; \
    chmod 0755 /opt/harness /opt/harness/run.sh
ENV PYTHONDONTWRITEBYTECODE=1 LANG=C.UTF-8 LC_ALL=C.UTF-8
