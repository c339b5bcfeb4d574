# One image for every service; the compose file picks the module to run.
FROM python:3.11-slim AS build
WORKDIR /app
COPY pyproject.toml constraints.txt ./
COPY protos protos
COPY services services
COPY gateway gateway
COPY cocoa_jobs cocoa_jobs
RUN python -m venv /venv \
 && /venv/bin/pip install --no-cache-dir -c constraints.txt -e ".[dev]" \
 && /venv/bin/python -m grpc_tools.protoc -I protos --python_out=protos --pyi_out=protos \
      --grpc_python_out=protos protos/cocoa/*/v1/*.proto

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PATH=/venv/bin:$PATH
WORKDIR /app
COPY --from=build /venv /venv
COPY --from=build /app /app
RUN useradd --system --uid 10001 cocoa && mkdir -p /data/uploads && chown cocoa /data/uploads
USER cocoa
CMD ["python", "-m", "cocoa_coordinator"]
