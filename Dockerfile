# syntax=docker/dockerfile:1
# The same steps as scripts/run.sh (npm ci, npm run build, go build), except
# that the server is built with -tags nodevidp: the image carries no built-in
# identity provider and refuses to start without SCALEKIT_ENVIRONMENT_URL.
# The provider on its own is the devidp target, which docker-compose.yml's
# development setup runs beside the app.

FROM node:20-bookworm-slim AS spa
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ frontend/
COPY scripts/ scripts/
COPY server/internal/web/openapi.json server/internal/web/openapi.json
COPY tsconfig*.json ./
RUN npm run build

FROM golang:1.26-bookworm AS go
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY server/ server/

FROM go AS devidp-build
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/devidp ./server/cmd/devidp

# The development identity provider (cmd/devidp): never for production.
FROM gcr.io/distroless/static-debian12:nonroot AS devidp
COPY --from=devidp-build /out/devidp /devidp
USER nonroot:nonroot
EXPOSE 8081
ENTRYPOINT ["/devidp"]

FROM go AS server
COPY --from=spa /src/server/internal/spa/dist/ server/internal/spa/dist/
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -tags nodevidp -o /out/bff ./server/cmd/bff

# The app, the default target.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=server /out/bff /bff
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/bff"]
