FROM python:3.12-slim
COPY --from=ghcr.io/astral-sh/uv:0.4 /uv /bin/uv
WORKDIR /app
COPY pyproject.toml uv.lock .python-version ./
RUN uv sync --no-install-project --locked --no-dev
COPY . .
RUN uv sync --locked --no-dev
CMD ["uv", "run", "main.py"]
