# syntax=docker/dockerfile:1
# Multi-stage: build with the full toolchain, run compiled JavaScript with production dependencies
# only, as a non-root user, with the database on a volume.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 is a native addon: node-gyp needs python3, make and g++ when no prebuilt binary
# can be fetched.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=8080 \
    DATABASE_PATH=/data/qm.sqlite
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY drizzle ./drizzle
COPY rubrics ./rubrics
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# SIGTERM reaches node directly (exec form): it stops taking webhooks, drains and exits 0.
CMD ["node", "dist/main.js"]
# The same image runs one reconciliation pass: docker run --rm -v qm-data:/data --env-file .env IMAGE node dist/cli/sweep.js
