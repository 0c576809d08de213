FROM python:3.12-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
# the application runs as its own user
RUN groupadd --system app && useradd --system --gid app app
COPY --chown=app:app src/ ./src/
USER app
CMD ["python", "src/main.py"]
