# syntax=docker/dockerfile:1
# Multi-stage: build with the full toolchain, run compiled JavaScript with production dependencies
# only, as a non-root user, with the database on a volume.
#
# The base image is pinned to a full version (the Node release the project is tested on), so a
# rebuild months later gets the same Node. To pin harder, append the digest your registry reports
# for this tag (`docker buildx imagetools inspect node:20.20.2-bookworm-slim`): `...-slim@sha256:...`.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# better-sqlite3 is a native addon: node-gyp needs python3, make and g++ when no prebuilt binary
# can be fetched. They stay in this stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# --ignore-scripts: the project's own `prepare` (the build) needs the sources, which are copied
# below so that this layer stays cached while only the code changes; better-sqlite3's install
# script (its native addon) is the one script needed, run on its own.
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
# Compile to dist/ (and bundle `qm score`, scripts/bundle-score.mjs), then drop the dev dependencies
# (typescript, tsx, esbuild, vitest, ...): the runtime stage copies node_modules from here.
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=8080
# The database lives at ./data/qm.sqlite relative to /app: the default of DATABASE_PATH and the
# value .env.example carries, so `--env-file .env` lands it on the volume as well. The folder is
# created owned by the unprivileged user (a new named volume takes over that ownership).
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY drizzle ./drizzle
COPY rubrics ./rubrics
RUN mkdir -p /app/data \
 && chown node:node /app/data \
 && chmod 755 dist/cli/qm.js \
 && ln -s /app/dist/cli/qm.js /usr/local/bin/qm
USER node
VOLUME ["/app/data"]
EXPOSE 8080
# Docker has one health check; it is what Swarm, Compose's `service_healthy` and Docker-aware proxies
# route on, so it checks readiness: /readyz answers 200 once the database is migrated and the QM form
# is read, and 503 again as soon as SIGTERM arrives, so traffic moves away before the drain. Liveness
# (/healthz: 200 while the process serves) is the separate probe of orchestrators that have one, e.g.
# Kubernetes (livenessProbe /healthz, readinessProbe /readyz; it ignores this instruction). The start
# period covers migrations and a slow first form read; the service stays unready while CXone cannot
# be reached, which a restart does not cure but does not harm either.
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form, node itself: SIGTERM from `docker stop` reaches the service directly (npm in between would
# not pass it on); it stops taking webhooks, drains for SHUTDOWN_GRACE_SECONDS and exits 0.
CMD ["node", "dist/main.js"]
# Any command of the bin runs in the same image, e.g. one reconciliation pass:
#   docker run --rm -v qm-data:/app/data --env-file .env IMAGE qm sweep
