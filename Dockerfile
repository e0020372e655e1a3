# syntax=docker/dockerfile:1
# Build stage: compile TypeScript with the dev dependencies.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY config ./config
COPY src ./src
RUN npm run build

# Runtime stage: production dependencies only, non-root.
FROM node:22-bookworm-slim AS runtime
# MALLOC_TRIM_THRESHOLD_ and the ENTRYPOINT's flag: see the first lines of src/main.ts.
ENV NODE_ENV=production \
    MALLOC_TRIM_THRESHOLD_=134217728
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY config/default.json ./config/default.json
# The token store (a login, `token set`) and its generated key live in /data, a volume, so they
# outlive `docker run --rm` and image upgrades: docker run -v c66-proxy-data:/data … Made here,
# owned by the runtime user and closed to others (the proxy refuses a store directory others can
# write to); a new named volume starts as a copy of it.
RUN mkdir -p /data && chown node:node /data && chmod 0700 /data
VOLUME ["/data"]
# Inside a container the proxy must listen on all interfaces and accept the bridge's peer address;
# publish the port on the host's loopback only: docker run -p 127.0.0.1:8066:8066 … Its public URL
# (the OAuth redirect URI and an allowed Host) then defaults to http://127.0.0.1:8066; published on
# another port, set C66_PROXY_PUBLIC_URL to the address you open.
# The shutdown grace is shorter than `docker stop`'s 10 s, so draining requests end before Docker's
# SIGKILL does; for longer drains raise both (docker run --stop-timeout 60 -e C66_PROXY_SHUTDOWN_GRACE=55s).
ENV C66_PROXY_LISTEN=0.0.0.0:8066 \
    C66_PROXY_UNSAFE_LISTEN_ANY=true \
    C66_PROXY_DATA_DIR=/data \
    C66_PROXY_SHUTDOWN_GRACE=8s
USER node
EXPOSE 8066
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "dist/main.js", "healthcheck"]
ENTRYPOINT ["node", "--initial-old-space-size=64", "dist/main.js"]
CMD ["serve"]
