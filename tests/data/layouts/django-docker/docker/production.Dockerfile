# The production image: the same requirements, from the project root.
FROM python:3.11-slim
WORKDIR /app
COPY requirements/base.txt /tmp/requirements/base.txt
RUN python3 -m pip install --no-input --no-cache-dir --disable-pip-version-check \
        -r /tmp/requirements/base.txt
COPY app/ /app/app/
CMD ["python3", "-m", "app"]
