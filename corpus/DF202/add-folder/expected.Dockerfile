FROM python:3.12-slim
COPY app /srv/app
CMD ["python", "/srv/app/main.py"]
