FROM python:3.12-slim
WORKDIR /app
RUN pip install --no-cache-dir --upgrade pip
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --uid 10001 --no-create-home web && mkdir -p /var/cache/web && chown web /var/cache/web
COPY . /app
EXPOSE 8000
RUN pip install --no-cache-dir -r requirements.txt
USER web
CMD ["python", "-m", "http.server", "8000"]
