FROM python:3.11
# wheels from a plain-HTTP folder the measurement serves on the engine's own bridge (bench/verify_fixtures.py)
ARG WHEELS=http://172.29.254.1:8765/
RUN python3 -m venv /venv && /venv/bin/pip install --no-cache-dir --no-index --trusted-host 172.29.254.1 --find-links "$WHEELS" uv
COPY requirements.txt /app/requirements.txt
RUN --mount=type=cache,target=/root/.cache/uv /venv/bin/uv pip install --python /venv/bin/python --no-index --find-links "$WHEELS" -r /app/requirements.txt
