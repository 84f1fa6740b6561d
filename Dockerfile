# Multi-stage image for every Python service of the cell (gateway, router, ...) and `cell`.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY services ./services
COPY deploy ./deploy
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home /app cell
COPY --from=build /install /usr/local
WORKDIR /app
COPY deploy/desks ./deploy/desks
USER cell
ENV PYTHONUNBUFFERED=1 CELL_LOG_FORMAT=json
ENTRYPOINT ["python", "-m"]
CMD ["services.gateway"]
