FROM python:3.12-slim
ENV POETRY_VIRTUALENVS_CREATE=false
RUN pip install --no-cache-dir poetry==1.8.3
WORKDIR /srv
COPY pyproject.toml poetry.lock ./
RUN poetry install --no-root --only main --no-interaction
COPY . .
RUN poetry install --only main --no-interaction
CMD ["uvicorn", "service:app"]
