FROM python:3.12-slim
WORKDIR /app
COPY requirements-base.txt requirements.txt ./
RUN pip install -r requirements.txt
COPY . .
CMD ["python", "-m", "src.app"]
