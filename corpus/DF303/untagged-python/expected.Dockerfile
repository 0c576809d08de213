FROM python:3.13.1-bookworm
WORKDIR /job
COPY report.py .
CMD ["python", "report.py"]
