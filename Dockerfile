# syntax=docker/dockerfile:1
# The same steps as scripts/run.sh: npm ci, npm run build, go build.

FROM node:20-bookworm-slim AS spa
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ frontend/
COPY scripts/ scripts/
COPY server/internal/web/openapi.json server/internal/web/openapi.json
COPY tsconfig*.json ./
RUN npm run build

FROM golang:1.26-bookworm AS server
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY server/ server/
COPY --from=spa /src/server/internal/spa/dist/ server/internal/spa/dist/
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/bff ./server/cmd/bff

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=server /out/bff /bff
USER nonroot:nonroot
EXPOSE 8080 8081
ENTRYPOINT ["/bff"]
