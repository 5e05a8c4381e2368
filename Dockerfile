# One image for every Rampart app; the compose file picks the app with APP
# (gateway, query, delivery, analyzer, provider-stub). deploy/docker/dockerfile.spec.ts checks this file.
#
# Node 24 LTS in both stages: the build runs on the Node the image runs, so no dependency prints
# EBADENGINE and native optional packages match. No HEALTHCHECK here: the apps answer on different
# ports (gateway PORT, services and analyzer HTTP_PORT) and the provider stub has no health route, so one image-wide
# probe cannot fit them all; docker-compose.yml and the k8s manifests probe /health/* per app.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# `npm install` with the committed lockfile, not `npm ci`: the lockfile has no entries for other
# platforms' optional binaries, which `npm ci` refuses.
RUN npm install --no-audit --no-fund
COPY . .
# Build, then drop the dev dependencies (compiler, test tools, the test browser) from node_modules.
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The image's own unprivileged user; the app files stay root-owned, so the app cannot change them.
USER node
ENV APP=gateway
# exec: node replaces the shell and becomes PID 1, so it receives docker's SIGTERM itself.
CMD ["sh", "-c", "exec node dist/apps/$APP/main.js"]
